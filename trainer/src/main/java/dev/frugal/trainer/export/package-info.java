/**
 * Model export: a trained module's inference graph in a standard format.
 *
 * <ul>
 *   <li>{@link dev.frugal.trainer.export.ProtobufWriter} writes the protocol buffers wire format
 *       by hand (no generated code).</li>
 *   <li>{@link dev.frugal.trainer.export.OnnxGraphBuilder} assembles an ONNX {@code ModelProto}
 *       (IR 8, opset 17): nodes, initializers, inputs and outputs with symbolic dimensions.</li>
 *   <li>{@code OnnxOpMapping} turns each primitive op into ONNX operators, keeping the batch
 *       size dynamic.</li>
 *   <li>{@link dev.frugal.trainer.export.OnnxExporter} traces a module in eval mode and writes
 *       the model atomically; ops without an ONNX equivalent are refused by name and call site.</li>
 * </ul>
 */
package dev.frugal.trainer.export;
