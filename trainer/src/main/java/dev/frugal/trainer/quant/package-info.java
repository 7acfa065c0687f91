/**
 * Int8 quantization: quantization-aware training (fake quantization as a graph pass, with a
 * straight-through gradient) and post-training calibration.
 *
 * <p>{@link dev.frugal.trainer.quant.QuantizationSpec} is the {@code --quantize} option;
 * {@link dev.frugal.trainer.quant.QuantizedModule} wraps a model so that its traced forward pass
 * is rewritten with the fake-quantization primitives of {@link dev.frugal.trainer.quant.FakeQuant}
 * around the operands of every quantized contraction ({@link dev.frugal.trainer.quant.QuantizedContraction});
 * {@link dev.frugal.trainer.quant.RangeObserver} keeps each activation's observed range as module
 * buffers, so checkpoints, resuming and evaluation carry it like batch norm's running statistics;
 * {@link dev.frugal.trainer.quant.Calibration} fills those ranges from training batches without
 * training (post-training quantization).
 */
package dev.frugal.trainer.quant;
