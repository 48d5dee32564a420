package org.splitlora.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.splitlora.testutil.Fixtures;

/** The commands as a user runs them: output format, exit codes, one-line errors. */
class CliTest {


    @Tag("fixtures")
    @Test
    void generateJsonWithPromptIds() {
        CliRun r = CliRun.of("generate", "--model", Fixtures.stories260k().toString(), "--prompt-ids", "1",
                "--max-new-tokens", "12", "--json");
        assertEquals(0, r.code(), r.err());
        JsonObject o = JsonParser.parseString(r.out().strip()).getAsJsonObject();
        assertEquals(12, o.getAsJsonArray("ids").size());
        assertTrue(o.get("text").getAsString().startsWith("Once upon a time, there was a little girl"),
                o.get("text").getAsString());
    }

    @Tag("fixtures")
    @Test
    void generateTextPromptWithBeamSearch() {
        CliRun r = CliRun.of("generate", "--model", Fixtures.stories260k().toString(), "--prompt", "Once upon a time",
                "--beam", "3", "--max-new-tokens", "10");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().strip().length() > 10, r.out());
    }

    @Tag("fixtures")
    @Test
    void outOfVocabularyPromptIdIsAClearError() {
        CliRun r = CliRun.of("generate", "--model", Fixtures.stories260k().toString(), "--prompt-ids", "1,99999");
        assertEquals(1, r.code());
        assertEquals("error: prompt id 99999 at position 1 is outside the vocabulary [0, 512)", r.err().strip());
    }

    @Test
    void missingModelDirectoryIsAClearError() {
        CliRun r = CliRun.of("generate", "--model", "/nonexistent/model", "--prompt", "hi");
        assertEquals(1, r.code());
        assertEquals("error: /nonexistent/model: model directory not found", r.err().strip());
    }

    @Test
    void usageErrorsExitWithTwo() {
        CliRun r = CliRun.of("generate", "--model", "builtin:tiny-gpt2");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--prompt"), r.err());
        assertEquals(2, CliRun.of("no-such-command").code());
    }

    @Test
    void everyCommandHasHelp() {
        for (String cmd : new String[] {"demo", "prepare", "train", "generate", "bench", "score", "eval", "report", "config-reference", "random-model"}) {
            CliRun r = CliRun.of(cmd, "--help");
            assertEquals(0, r.code(), cmd);
            assertTrue(r.out().contains("Usage: splitlora " + cmd), r.out());
        }
    }
}
