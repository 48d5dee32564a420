package org.splitlora.cli;

import picocli.CommandLine;

/** Version from the jar manifest (or "dev" when run from classes). */
public final class VersionProvider implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
        String v = SplitLoraCli.class.getPackage().getImplementationVersion();
        return new String[] {"splitlora " + (v == null ? "dev" : v)};
    }
}
