"""Trains the iris classifier and writes it twice: model.pkl for the Cortex PythonPredictor (predictor.py) and
model.onnx for the TypeScript predictor (predictor.ts, onnxruntime-node).

skl2onnx is not installable everywhere, so the ONNX graph is built with onnx.helper from the fitted coefficients:
a logistic regression is scores = x . W^T + b, the class is argmax(scores), the probabilities softmax(scores).

    python3 train.py            # writes model.pkl and model.onnx beside this file
    python3 train.py OUT_DIR    # ... or into OUT_DIR
"""

import os
import pickle
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

HERE = os.path.dirname(os.path.abspath(__file__))
LABELS = ["setosa", "versicolor", "virginica"]


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else HERE
    iris = load_iris()
    x_train, x_test, y_train, y_test = train_test_split(iris.data, iris.target, test_size=0.2, random_state=0)
    model = LogisticRegression(max_iter=1000)
    model.fit(x_train, y_train)
    print("accuracy on held-out flowers: %.3f" % model.score(x_test, y_test))

    with open(os.path.join(out, "model.pkl"), "wb") as file:
        pickle.dump(model, file)
    onnx.save(to_onnx(model), os.path.join(out, "model.onnx"))
    print("wrote model.pkl and model.onnx into %s" % out)


def to_onnx(model):
    """The fitted logistic regression as an ONNX graph: input float[N,4] -> label int64[N], probabilities float[N,3]."""
    weights = numpy_helper.from_array(model.coef_.T.astype(np.float32), name="weights")  # [4, 3]
    bias = numpy_helper.from_array(model.intercept_.astype(np.float32), name="bias")  # [3]
    nodes = [
        helper.make_node("MatMul", ["input", "weights"], ["product"]),
        helper.make_node("Add", ["product", "bias"], ["scores"]),
        helper.make_node("ArgMax", ["scores"], ["label"], axis=1, keepdims=0),
        helper.make_node("Softmax", ["scores"], ["probabilities"], axis=1),
    ]
    graph = helper.make_graph(
        nodes,
        "iris_logistic_regression",
        inputs=[helper.make_tensor_value_info("input", TensorProto.FLOAT, [None, 4])],
        outputs=[
            helper.make_tensor_value_info("label", TensorProto.INT64, [None]),
            helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, 3]),
        ],
        initializer=[weights, bias],
    )
    # Opset 13 and IR version 8 load in every onnxruntime of the last years.
    onnx_model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="predictor-runtime examples/iris")
    onnx_model.ir_version = 8
    onnx.checker.check_model(onnx_model)
    return onnx_model


if __name__ == "__main__":
    main()
