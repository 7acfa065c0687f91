/**
 * Transfer learning: {@link dev.frugal.trainer.transfer.PretrainedWeights} loads weights saved by
 * another framework (PyTorch's {@code safetensors.torch.save_file(model.state_dict(), path)}) into
 * a model by name, reporting what matched, what is missing and what was not used
 * ({@link dev.frugal.trainer.transfer.WeightImportReport}); {@link dev.frugal.trainer.transfer.FrozenParameters}
 * resolves {@code --freeze} globs to the parameters a training step leaves alone.
 */
package dev.frugal.trainer.transfer;
