package org.splitlora.cli;

import java.io.PrintWriter;
import org.apache.spark.SparkException;
import org.splitlora.datasets.encode.BadRowPolicy;
import org.splitlora.datasets.encode.OverlongPolicy;
import org.splitlora.datasets.partition.PartitionMethod;
import org.splitlora.datasets.source.JsonlStyle;
import org.splitlora.datasets.source.SourceFormat;
import org.splitlora.datasets.source.TextMode;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code splitlora <command>}: the command-line entry point (see DESIGN.md §3). */
@Command(
        name = "splitlora",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        description = "Split federated LoRA fine-tuning of LLMs on Apache Spark.",
        subcommands = {DemoCommand.class, PrepareCommand.class, TrainCommand.class, BenchCommand.class, GenerateCommand.class, EvalCommand.class, ScoreCommand.class, ReportCommand.class, ConfigReferenceCommand.class, RandomModelCommand.class, CommandLine.HelpCommand.class})
public final class SplitLoraCli implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a command is required");
    }

    public static void main(String[] args) {
        int code = execute(args);
        // A driver that YARN or a standalone master runs (cluster deploy mode) reports success by
        // returning: an exit from main reads as a driver that died before reporting its status.
        if (code == 0 && "cluster".equals(System.getProperty("spark.submit.deployMode"))) {
            return;
        }
        System.exit(code);
    }

    /** Runs a command; returns its exit code (0 ok, 1 failed, 2 bad usage). Errors print one line. */
    public static int execute(String... args) {
        return execute(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args);
    }

    /** As {@link #execute(String...)}, writing to the given streams (tests capture them). */
    public static int execute(PrintWriter out, PrintWriter err, String... args) {
        CommandLine cl = new CommandLine(new SplitLoraCli()).setOut(out).setErr(err)
                .registerConverter(SourceFormat.class, SourceFormat::parse)
                .registerConverter(PartitionMethod.class, PartitionMethod::parse)
                .registerConverter(OverlongPolicy.class, OverlongPolicy::parse)
                .registerConverter(BadRowPolicy.class, BadRowPolicy::parse)
                .registerConverter(JsonlStyle.class, JsonlStyle::parse)
                .registerConverter(TextMode.class, TextMode::parse);
        cl.setExecutionExceptionHandler((ex, cmd, parseResult) -> {
            cmd.getErr().println("error: " + describe(ex));
            if (Boolean.getBoolean("splitlora.stacktrace")) {
                ex.printStackTrace(cmd.getErr());
            }
            return 1;
        });
        return cl.execute(args);
    }

    /** The error as one line; a failed Spark job reads as its cause (its own message holds the task's stack trace). */
    static String describe(Throwable ex) {
        Throwable t = ex;
        while ((t.getMessage() == null || t instanceof SparkException) && t.getCause() != null) {
            t = t.getCause();
        }
        String msg = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage().lines().findFirst().orElse("");
        return t instanceof IllegalArgumentException || t instanceof IllegalStateException
                || t.getClass().getPackageName().startsWith("org.splitlora")
                ? msg : t.getClass().getSimpleName() + ": " + msg;
    }
}
