package dev.frugal.cuda.internal;

import dev.frugal.cuda.CudaException;
import dev.frugal.cuda.CudaSymbolNotFoundException;
import dev.frugal.cuda.discovery.LoadedLibrary;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * Links the functions of one library into downcall {@link MethodHandle}s. Used only from the
 * static initialisers of binding holder classes. It never throws: a missing library or symbol
 * becomes a handle of the same type that throws a {@link CudaException} explaining what is
 * missing when it is first called, so loading a binding class never fails.
 */
public final class Binder {
  private static final Linker LINKER = Linker.nativeLinker();
  private static final MethodHandle RAISE;

  static {
    try {
      RAISE = MethodHandles.lookup().findStatic(Binder.class, "raise",
          MethodType.methodType(CudaException.class, Supplier.class));
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private final LoadedLibrary library;
  private final List<String> bound = new ArrayList<>();
  private final List<String> missing = new ArrayList<>();

  /** A binder for one library; the library may be missing. */
  public Binder(LoadedLibrary library) {
    this.library = library;
  }

  /** The library this binder links against. */
  public LoadedLibrary library() {
    return library;
  }

  /**
   * Links {@code symbol} with the given C signature.
   *
   * @param options {@link Linker.Option#critical} only for functions the facts note lists as
   *     safe: short, non-blocking setters and getters that never call back into Java
   */
  public MethodHandle bind(String symbol, FunctionDescriptor descriptor, Linker.Option... options) {
    MethodType type = descriptor.toMethodType();
    if (!library.isLoaded()) {
      missing.add(symbol);
      return failing(type, library::failure);
    }
    Optional<MemorySegment> address = library.lookup().find(symbol);
    if (address.isEmpty()) {
      missing.add(symbol);
      String message = library.library().displayName() + " at " + library.path() + " (version " + library.version()
          + ") does not export " + symbol + "; this call needs a newer " + library.library().displayName()
          + ": " + library.library().installHint();
      return failing(type, () -> new CudaSymbolNotFoundException(message));
    }
    bound.add(symbol);
    return LINKER.downcallHandle(address.get(), descriptor, options);
  }

  /** What resolved and what did not. */
  public BindingReport report() {
    return new BindingReport(library.library().displayName(), library.isLoaded(),
        library.path() == null ? null : library.path().toString(), bound, missing);
  }

  /** A handle of {@code type} that throws a fresh exception from {@code error} on every call. */
  static MethodHandle failing(MethodType type, Supplier<? extends CudaException> error) {
    MethodHandle thrower = MethodHandles.throwException(type.returnType(), CudaException.class);
    MethodHandle make = RAISE.bindTo(error);
    MethodHandle noArguments = MethodHandles.foldArguments(thrower, make);
    return MethodHandles.dropArguments(noArguments, 0, type.parameterList());
  }

  @SuppressWarnings("unused") // called through RAISE
  private static CudaException raise(Supplier<? extends CudaException> error) {
    return error.get();
  }
}
