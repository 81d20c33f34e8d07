import { expect } from "vitest";
import { ErrorCode, RuntimeError } from "../../runtime/errors.js";

/** Expects `promise` to reject with a RuntimeError whose code is STORAGE_ERROR. */
export async function expectStorageError(promise: Promise<unknown>): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error, "expected a rejection").toBeInstanceOf(RuntimeError);
  expect((error as RuntimeError).code).toBe(ErrorCode.storage);
}
