"""Writing a classifier as a standard openWakeWord ONNX model: input [1, 16, 96] float, output [1, 1] score."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from earmuff.wakeword.train.classifier import Mlp
from earmuff.wakeword.train.features import EMBED_DIM, WINDOW


def to_onnx(model: Mlp, path: Path, name: str) -> None:
    """Write `model` as an ONNX graph that openwakeword.Model(inference_framework='onnx') loads."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    inits = [
        numpy_helper.from_array(np.array([1, WINDOW * EMBED_DIM], np.int64), "flat_shape"),
        numpy_helper.from_array(model.w1.astype(np.float32), "w1"),
        numpy_helper.from_array(model.b1.astype(np.float32), "b1"),
        numpy_helper.from_array(model.w2.astype(np.float32), "w2"),
        numpy_helper.from_array(model.b2.astype(np.float32), "b2"),
    ]
    nodes = [
        helper.make_node("Reshape", ["input", "flat_shape"], ["flat"]),
        helper.make_node("Gemm", ["flat", "w1", "b1"], ["h_pre"]),
        helper.make_node("Relu", ["h_pre"], ["h"]),
        helper.make_node("Gemm", ["h", "w2", "b2"], ["logit"]),
        helper.make_node("Sigmoid", ["logit"], ["score"]),
    ]
    graph = helper.make_graph(
        nodes,
        name.replace(" ", "_") or "wakeword",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, WINDOW, EMBED_DIM])],
        [helper.make_tensor_value_info("score", TensorProto.FLOAT, [1, 1])],
        inits,
    )
    proto = helper.make_model(graph, producer_name="earmuff", opset_imports=[helper.make_opsetid("", 13)])
    proto.ir_version = 8  # readable by onnxruntime releases of the last few years
    onnx.checker.check_model(proto)
    path.write_bytes(proto.SerializeToString())
