package dev.frugal.models.layers;

import dev.frugal.models.Module;
import dev.frugal.models.ModuleTrace;
import dev.frugal.runtime.graph.Value;

import java.util.ArrayList;
import java.util.List;

/**
 * Modules applied one after the other ({@code nn.Sequential}); the children are named
 * {@code 0}, {@code 1}, ... as PyTorch names them.
 */
public final class Sequential extends Module {
    private final List<Module> layers = new ArrayList<>();

    /** The given modules, applied in order. */
    public Sequential(Module... layers) {
        this(List.of(layers));
    }

    /** The given modules, applied in order. */
    public Sequential(List<? extends Module> layers) {
        for (Module m : layers) {
            add(m);
        }
    }

    /** Appends a module (named by its position) and returns this. */
    public Sequential add(Module layer) {
        layers.add(addModule(Integer.toString(layers.size()), layer));
        return this;
    }

    /** The modules in order. */
    public List<Module> layers() {
        return List.copyOf(layers);
    }

    /** The number of modules. */
    public int size() {
        return layers.size();
    }

    /** Feeds the input through every module in order (the identity when empty). */
    @Override
    public Value forward(ModuleTrace trace, Value input) {
        Value x = input;
        for (Module m : layers) {
            x = m.forward(trace, x);
        }
        return x;
    }
}
