/**
 * The Module API: {@link dev.frugal.models.Module} (named parameters and buffers, children,
 * train/eval mode, seeded initialisation, state export and load), {@link dev.frugal.models.Variable},
 * {@link dev.frugal.models.Initializer} (PyTorch's default initialisers), keyed random streams
 * ({@link dev.frugal.models.SeedStreams}), {@link dev.frugal.models.ModuleTrace} (a module tree as
 * graph inputs, and binding its tensors into a compiled program) and
 * {@link dev.frugal.models.FlopCounter}.
 *
 * <p>Layers are in {@code dev.frugal.models.layers}; the named models and the spec parser in
 * {@code dev.frugal.models.zoo}.
 */
package dev.frugal.models;
