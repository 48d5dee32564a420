package org.splitlora.cli;

import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The command line that runs the CLI in a fresh JVM with this test JVM's flags and class path. */
public final class ChildJvm {

    private ChildJvm() {}

    public static List<String> command(String... cliArgs) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (arg.startsWith("--add-opens") || arg.startsWith("-D") || arg.startsWith("-XX:MaxDirect")) {
                cmd.add(arg);
            }
        }
        cmd.addAll(List.of("-Xmx1g", "-cp", System.getProperty("java.class.path"), SplitLoraCli.class.getName()));
        cmd.addAll(List.of(cliArgs));
        return cmd;
    }
}
