/**
 * The run directory: what one training run leaves behind for people and tools to inspect.
 * {@link dev.frugal.trainer.run.RunDirectory} writes {@code config.json} (the resolved
 * configuration), {@code env.json} (JDK, OS, CPU, GPUs, CUDA libraries, git commit, Frugal
 * version; see {@link dev.frugal.trainer.run.Environment}), {@code metrics.jsonl} through a
 * {@link dev.frugal.trainer.run.MetricsLog} and {@code summary.json}. Whole-file writes are atomic,
 * so a killed run never leaves a half-written JSON file.
 */
package dev.frugal.trainer.run;
