package dev.frugal.cuda.cudnn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.frugal.cuda.NativeAssumptions;
import dev.frugal.cuda.discovery.CudaLibrary;
import dev.frugal.cuda.discovery.LoadedLibrary;
import java.io.IOException;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Every cuDNN function is linked with the argument and return kinds its C prototype declares
 * (pointer or handle, int or enum, size_t, float), read from the {@code cudnn_*_v9.h} headers
 * beside the loaded library. A wrong arity or kind would crash or corrupt on a GPU; here it fails
 * without one.
 */
class CudnnSignaturesTest {
  private static final Pattern POINTER_TYPEDEF = Pattern.compile("typedef\\s+struct\\s+\\w+\\s*\\*\\s*(\\w+)");

  private record Headers(String text, Set<String> pointerTypes) {}

  private static Headers headers() throws IOException {
    LoadedLibrary cudnn = NativeAssumptions.assumeLoaded(CudaLibrary.CUDNN);
    Path include = cudnn.path().toAbsolutePath().getParent().resolveSibling("include");
    assumeTrue(Files.isRegularFile(include.resolve("cudnn_cnn_v9.h")), () -> "no cuDNN 9 headers in " + include);
    StringBuilder text = new StringBuilder();
    try (Stream<Path> files = Files.list(include)) {
      for (Path header : files.filter(p -> p.getFileName().toString().endsWith("_v9.h")).sorted().toList()) {
        text.append(Files.readString(header)).append('\n');
      }
    }
    String code = text.toString().replaceAll("(?s)/\\*.*?\\*/", " ").replaceAll("//[^\\n]*", " ");
    Set<String> pointers = new HashSet<>(Set.of("cudaStream_t"));
    Matcher typedef = POINTER_TYPEDEF.matcher(code);
    while (typedef.find()) {
      pointers.add(typedef.group(1));
    }
    return new Headers(code, pointers);
  }

  /** The FFM layout a C type (a parameter without its name, or a return type) is passed as. */
  private static String kind(String cType, Set<String> pointerTypes) {
    String type = cType.replace("const", " ").strip();
    if (type.contains("*") || pointerTypes.contains(type)) {
      return "ADDRESS";
    }
    return switch (type) {
      case "size_t" -> "LONG";
      case "int", "unsigned", "unsigned int" -> "INT";
      case "float" -> "FLOAT";
      case "double" -> "DOUBLE";
      case "void" -> "VOID";
      default -> type.endsWith("_t") ? "INT" : "UNKNOWN " + type; // remaining cudnn*_t are enums
    };
  }

  private static String kind(MemoryLayout layout) {
    if (layout instanceof ValueLayout value) {
      Class<?> carrier = value.carrier();
      if (carrier == java.lang.foreign.MemorySegment.class) {
        return "ADDRESS";
      }
      return carrier.getSimpleName().toUpperCase();
    }
    return "STRUCT " + layout;
  }

  /** Kinds of the C prototype of {@code symbol}: return first, then each parameter. */
  private static List<String> prototype(Headers headers, String symbol) {
    Matcher m = Pattern.compile("([A-Za-z_][\\w ]*?\\**)\\s*CUDNNWINAPI\\s+" + symbol + "\\s*\\(([^)]*)\\)")
        .matcher(headers.text());
    assertTrue(m.find(), symbol + " has no prototype in the headers");
    List<String> kinds = new ArrayList<>();
    kinds.add(kind(m.group(1).replace("CUDNN_DEPRECATED", " "), headers.pointerTypes()));
    String parameters = m.group(2).strip();
    if (!parameters.equals("void")) {
      for (String parameter : parameters.split(",")) {
        String declaration = parameter.strip();
        // Drop the parameter's name: the last identifier, unless the declaration is only a type.
        String type = declaration.replaceFirst("\\s*\\b\\w+\\s*(\\[\\s*\\])?$", "");
        kinds.add(kind(declaration.endsWith("]") ? type + "*" : type, headers.pointerTypes()));
      }
    }
    return kinds;
  }

  private static List<String> linked(FunctionDescriptor descriptor) {
    List<String> kinds = new ArrayList<>();
    kinds.add(descriptor.returnLayout().map(CudnnSignaturesTest::kind).orElse("VOID"));
    for (MemoryLayout argument : descriptor.argumentLayouts()) {
      kinds.add(kind(argument));
    }
    return kinds;
  }

  @Test
  void everyBindingMatchesItsPrototype() throws IOException {
    Headers headers = headers();
    Map<String, FunctionDescriptor> signatures = Cudnn.signatures();
    assertEquals(Cudnn.bindingReport().bound().size() + Cudnn.bindingReport().missing().size(), signatures.size(),
        "every binding is recorded");
    assertTrue(signatures.size() >= 40, "bindings: " + signatures.keySet());
    for (Map.Entry<String, FunctionDescriptor> binding : signatures.entrySet()) {
      assertEquals(prototype(headers, binding.getKey()), linked(binding.getValue()),
          binding.getKey() + ": [return, arguments...] as declared vs as linked");
    }
  }

  @Test
  void prototypeReaderSeesKindsCorrectly() throws IOException {
    Headers headers = headers();
    assertEquals(List.of("INT", "ADDRESS", "ADDRESS", "ADDRESS", "ADDRESS", "ADDRESS", "ADDRESS", "ADDRESS", "INT",
        "ADDRESS", "LONG", "ADDRESS", "ADDRESS", "ADDRESS"), prototype(headers, "cudnnConvolutionForward"));
    assertEquals(List.of("LONG"), prototype(headers, "cudnnGetVersion"));
    assertEquals(List.of("ADDRESS", "INT"), prototype(headers, "cudnnGetErrorString"));
    assertEquals(List.of("VOID", "ADDRESS", "LONG"), prototype(headers, "cudnnGetLastErrorString"));
  }
}
