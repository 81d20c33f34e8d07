// The same iris classifier from TypeScript: onnxruntime-node runs model.onnx (written by train.py from the same
// fitted coefficients as model.pkl), so both predictors answer the same label for the same flower.
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { InferenceSession, Tensor } from "onnxruntime-node";

const LABELS = ["setosa", "versicolor", "virginica"] as const;

interface Flower {
  sepal_length: number;
  sepal_width: number;
  petal_length: number;
  petal_width: number;
}

export default class IrisPredictor {
  #session: InferenceSession | undefined;

  constructor(private readonly config: { model?: string }) {}

  async setup(): Promise<void> {
    const here = dirname(fileURLToPath(import.meta.url));
    this.#session = await InferenceSession.create(resolve(here, this.config.model ?? "model.onnx")) // relative to this file, or absolute;
  }

  async predict(payload: Flower | Flower[]): Promise<string | string[]> {
    const flowers = Array.isArray(payload) ? payload : [payload];
    const input = new Float32Array(flowers.flatMap((f) => [f.sepal_length, f.sepal_width, f.petal_length, f.petal_width]));
    const { label } = await this.#session!.run({ input: new Tensor("float32", input, [flowers.length, 4]) });
    const predicted = Array.from(label!.data as BigInt64Array, (id) => LABELS[Number(id)]!);
    return Array.isArray(payload) ? predicted : predicted[0]!;
  }
}
