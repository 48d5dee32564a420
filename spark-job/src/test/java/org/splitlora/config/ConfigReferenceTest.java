package org.splitlora.config;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The configuration reference: complete, true to the loader's types, and what the README shows. */
class ConfigReferenceTest {

    private static final String BEGIN = "<!-- config-reference:begin -->\n";
    private static final String END = "<!-- config-reference:end -->";
    /** A value of each type that the loader must refuse for a key of another type. */
    private static final Map<String, String> WRONG = Map.of("int", "0.5", "double", "\"abc\"", "boolean", "maybe",
            "duration", "\"abc\"", "size", "\"abc\"", "list", "3", "string", "[1]");
    /** A value of each type the loader accepts for every key of that type (ranges included). */
    private static final String DATA = "data.dir=\"/data/prepared\"";
    private static final Map<String, String> RIGHT = Map.of("double", "0.5", "duration", "5s", "size", "2m",
            "boolean", "false");

    @Test
    void readmeShowsTheGeneratedReference() throws IOException {
        String readme = Files.readString(Path.of("..", "README.md"));
        int b = readme.indexOf(BEGIN);
        int e = readme.indexOf(END);
        assertTrue(b >= 0 && e > b, "README.md lacks the config-reference markers");
        assertEquals(ConfigReference.markdown(), readme.substring(b + BEGIN.length(), e),
                "README's configuration reference is stale: regenerate it with submit-scripts/splitlora config-reference");
    }

    @Test
    void everyKeyIsDocumented() {
        List<ConfigReference.Entry> entries = ConfigReference.entries();
        assertTrue(entries.size() > 50, "entries: " + entries.size());
        for (ConfigReference.Entry e : entries) {
            assertFalse(e.meaning().isBlank(), e.key() + " has no comment in defaults.conf");
            assertFalse(e.meaning().startsWith("["), e.key() + ": unknown type tag in '" + e.meaning() + "'");
        }
    }

    @Test
    void theStatedTypesAreTheLoadersTypes() {
        for (ConfigReference.Entry e : ConfigReference.entries()) {
            if (e.type().equals("section")) {
                continue;
            }
            String wrong = WRONG.get(e.type());
            // in a file (--set takes a string key's value as typed, so "[1]" is a string there)
            ConfigError refused = assertThrows(ConfigError.class,
                    () -> TrainConfig.parse(DATA + "\n" + e.key() + " = " + wrong, "test.conf", List.of()),
                    e.key() + " is documented as " + e.type() + " but accepts " + wrong);
            assertTrue(refused.getMessage().contains(e.key()), "error does not name " + e.key() + ": " + refused.getMessage());
            String right = RIGHT.get(e.type());
            if (right != null) {
                assertDoesNotThrow(() -> TrainConfig.load(null, List.of(DATA, e.key() + "=" + right)),
                        e.key() + " is documented as " + e.type() + " but refuses " + right);
            }
        }
    }
}
