package dev.frugal.memory.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.cuda.driver.CudaStream;
import dev.frugal.memory.CachingAllocator;
import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * JCuda stays optional: no class of the cuda or memory modules outside the interop package refers
 * to it, and every such class loads and links on a class path without JCuda, while the interop
 * class does not (which shows the check can see a JCuda reference).
 */
class JCudaOptionalTest {
    private static final String INTEROP = "dev/frugal/memory/interop/";

    /** The cuda and memory modules' compiled classes, from folders or jars. */
    private static List<Path> locations() throws URISyntaxException {
        return List.of(Path.of(CudaStream.class.getProtectionDomain().getCodeSource().getLocation().toURI()),
                Path.of(CachingAllocator.class.getProtectionDomain().getCodeSource().getLocation().toURI()));
    }

    /** Class-file name to bytes, for every class in {@code location}. */
    private static List<ClassFile> classFiles(Path location) throws IOException {
        List<ClassFile> files = new ArrayList<>();
        if (Files.isDirectory(location)) {
            try (Stream<Path> walk = Files.walk(location)) {
                for (Path file : walk.filter(p -> p.toString().endsWith(".class")).toList()) {
                    files.add(new ClassFile(location.relativize(file).toString().replace('\\', '/'),
                            Files.readAllBytes(file)));
                }
            }
        } else {
            try (JarFile jar = new JarFile(location.toFile())) {
                for (JarEntry entry : jar.stream().filter(e -> e.getName().endsWith(".class")).toList()) {
                    try (InputStream in = jar.getInputStream(entry)) {
                        files.add(new ClassFile(entry.getName(), in.readAllBytes()));
                    }
                }
            }
        }
        return files;
    }

    private record ClassFile(String name, byte[] bytes) {
        String className() {
            return name.substring(0, name.length() - ".class".length()).replace('/', '.');
        }

        boolean refersToJCuda() {
            // Class references and descriptors in the constant pool are UTF-8 "jcuda/...".
            return new String(bytes, StandardCharsets.ISO_8859_1).contains("jcuda/");
        }
    }

    @Test
    void onlyTheInteropPackageRefersToJCuda() throws Exception {
        List<String> offenders = new ArrayList<>();
        int scanned = 0;
        boolean interopSeen = false;
        for (Path location : locations()) {
            for (ClassFile file : classFiles(location)) {
                scanned++;
                if (file.name().startsWith(INTEROP)) {
                    interopSeen |= file.refersToJCuda();
                } else if (file.refersToJCuda()) {
                    offenders.add(file.className());
                }
            }
        }
        assertTrue(scanned > 50, "scanned " + scanned + " classes in " + locations());
        assertTrue(interopSeen, "the interop classes must be seen referring to JCuda, or the scan is blind");
        assertEquals(List.of(), offenders, "classes outside " + INTEROP + " that would need JCuda");
    }

    @Test
    void coreClassesLinkWithoutJCudaOnTheClassPath() throws Exception {
        List<Path> locations = locations();
        URL[] urls = new URL[locations.size()];
        for (int i = 0; i < urls.length; i++) {
            urls[i] = locations.get(i).toUri().toURL();
        }
        try (URLClassLoader withoutJCuda = new URLClassLoader(urls, ClassLoader.getPlatformClassLoader())) {
            assertThrows(ClassNotFoundException.class, () -> withoutJCuda.loadClass("jcuda.driver.CUdeviceptr"));
            int linked = 0;
            for (Path location : locations) {
                for (ClassFile file : classFiles(location)) {
                    if (file.name().startsWith(INTEROP) || file.name().endsWith("package-info.class")) {
                        continue;
                    }
                    Class<?> type = Class.forName(file.className(), false, withoutJCuda);
                    // Resolves every type in fields and signatures, as using the class would.
                    type.getDeclaredFields();
                    type.getDeclaredMethods();
                    type.getDeclaredConstructors();
                    linked++;
                }
            }
            assertTrue(linked > 50, "linked " + linked + " classes");
            Class<?> interop = Class.forName(JCudaInterop.class.getName(), false, withoutJCuda);
            assertThrows(NoClassDefFoundError.class, interop::getDeclaredMethods,
                    "the interop class needs JCuda, so this check would catch a core class that did");
        }
    }
}
