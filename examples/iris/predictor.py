# The classic Cortex iris example, unchanged in shape: a PythonPredictor that loads the pickled scikit-learn model in
# __init__ and classifies one flower per request (or a list of flowers, answered with a list of labels).
import os
import pickle

labels = ["setosa", "versicolor", "virginica"]


class PythonPredictor:
    def __init__(self, config):
        # Relative to this file (an absolute path stays as it is).
        model_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), config.get("model", "model.pkl"))
        with open(model_path, "rb") as file:
            self.model = pickle.load(file)

    def predict(self, payload):
        flowers = payload if isinstance(payload, list) else [payload]
        measurements = [[f["sepal_length"], f["sepal_width"], f["petal_length"], f["petal_width"]] for f in flowers]
        predicted = [labels[label_id] for label_id in self.model.predict(measurements)]
        return predicted if isinstance(payload, list) else predicted[0]
