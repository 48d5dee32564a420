package org.splitlora.cli;

import java.util.concurrent.Callable;
import org.splitlora.config.ConfigReference;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

@Command(name = "config-reference", mixinStandardHelpOptions = true,
        description = "Prints every key of a train --conf file (type, default, meaning) as a Markdown table, from the"
                + " defaults the loader validates against; the README's configuration reference is this output.")
final class ConfigReferenceCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().getOut().print(ConfigReference.markdown());
        spec.commandLine().getOut().flush();
        return 0;
    }
}
