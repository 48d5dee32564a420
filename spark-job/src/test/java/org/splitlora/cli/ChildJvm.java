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
        // the module options of this build's Spark (the pom's java.module.options), then the properties
        for (String option : System.getProperty("splitlora.javaModuleOptions", "").trim().split("\\s+")) {
            if (!option.isEmpty()) {
                cmd.add(option);
            }
        }
        for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (arg.startsWith("-D") || arg.startsWith("-XX:MaxDirect")) {
                cmd.add(arg);
            }
        }
        cmd.addAll(List.of("-Xmx1g", "-cp", System.getProperty("java.class.path"), SplitLoraCli.class.getName()));
        cmd.addAll(List.of(cliArgs));
        return cmd;
    }
}
