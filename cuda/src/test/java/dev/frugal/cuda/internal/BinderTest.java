package dev.frugal.cuda.internal;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.cuda.CudaLibraryNotFoundException;
import dev.frugal.cuda.CudaSymbolNotFoundException;
import dev.frugal.cuda.NativeAssumptions;
import dev.frugal.cuda.discovery.CudaLibrary;
import dev.frugal.cuda.discovery.LibraryLoader;
import dev.frugal.cuda.discovery.LibrarySearchPath;
import dev.frugal.cuda.discovery.LoadedLibrary;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The binder never fails while binding: what is missing throws, with the reason, when called. */
class BinderTest {
  private static final FunctionDescriptor CREATE = FunctionDescriptor.of(JAVA_INT, ADDRESS);

  @Test
  void aMissingLibraryGivesHandlesThatThrowItsReason() {
    LoadedLibrary missing = new LibraryLoader(LibrarySearchPath.of(List.of()), Map.of(), false)
        .load(CudaLibrary.CUBLAS);
    Binder binder = new Binder(missing);

    MethodHandle create = binder.bind("cublasCreate_v2", CREATE);

    CudaLibraryNotFoundException e = assertThrows(CudaLibraryNotFoundException.class,
        () -> { int ignored = (int) create.invokeExact(MemorySegment.NULL); });
    assertEquals(missing.problem(), e.getMessage());
    BindingReport report = binder.report();
    assertFalse(report.loaded());
    assertEquals(List.of("cublasCreate_v2"), report.missing());
    assertEquals(List.of(), report.bound());
  }

  @Test
  void aSymbolTheLibraryLacksThrowsNamingTheFileAndVersion() {
    LoadedLibrary cublas = NativeAssumptions.assumeLoaded(CudaLibrary.CUBLAS);
    Binder binder = new Binder(cublas);

    MethodHandle absent = binder.bind("cublasCreate", CREATE);

    CudaSymbolNotFoundException e = assertThrows(CudaSymbolNotFoundException.class,
        () -> { int ignored = (int) absent.invokeExact(MemorySegment.NULL); });
    assertEquals("cublas at " + cublas.path() + " (version " + cublas.version() + ") does not export cublasCreate;"
        + " this call needs a newer cublas: " + CudaLibrary.CUBLAS.installHint(), e.getMessage());
    assertTrue(binder.report().loaded());
    assertEquals(List.of("cublasCreate"), binder.report().missing());
  }
}
