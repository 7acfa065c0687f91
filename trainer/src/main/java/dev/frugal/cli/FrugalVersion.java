package dev.frugal.cli;

import picocli.CommandLine;

/** Reports Frugal's version (from the jar manifest) and the JVM it runs on. */
public final class FrugalVersion implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
        String version = FrugalVersion.class.getPackage().getImplementationVersion();
        return new String[] {
            "frugal " + (version == null ? "(development build)" : version),
            "JVM: " + Runtime.version() + " (" + System.getProperty("java.vendor") + "), "
                    + Runtime.getRuntime().availableProcessors() + " cores"
        };
    }
}
