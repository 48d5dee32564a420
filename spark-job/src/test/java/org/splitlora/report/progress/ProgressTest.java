package org.splitlora.report.progress;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ProgressTest {

    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
    private final AtomicLong clock = new AtomicLong();

    @Test
    void offATerminalItPrintsAPlainLineAtEachTenthAndNoControlCharacters() {
        try (Progress p = Progress.of(out, Progress.Style.LINES, "generate", 0, true, clock::get)) {
            p.addTotal(40);
            for (int i = 0; i < 40; i++) {
                clock.addAndGet(500_000_000L);
                p.advance(1);
            }
        }
        List<String> lines = bytes.toString(StandardCharsets.UTF_8).lines().toList();
        assertEquals(10, lines.size(), String.join("\n", lines));
        assertEquals("generate: 4/40 (10%)  0:02  ETA 0:18", lines.get(0));
        assertEquals("generate: 40/40 (100%)  0:20", lines.get(9));
        assertFalse(bytes.toString(StandardCharsets.UTF_8).contains("\r"));
    }

    @Test
    void aGrowingTotalKeepsPrintingLinesAfterTheFirstPartIsDone() {
        try (Progress p = Progress.of(out, Progress.Style.LINES, "prepare", 0, true, clock::get)) {
            p.addTotal(1);
            p.advance(1);
            p.addTotal(9);
            for (int i = 0; i < 9; i++) {
                p.advance(1);
            }
        }
        List<String> lines = bytes.toString(StandardCharsets.UTF_8).lines().toList();
        assertEquals("prepare: 1/1 (100%)  0:00", lines.get(0));
        assertEquals("prepare: 10/10 (100%)  0:00", lines.get(lines.size() - 1));
        assertEquals(10, lines.size(), String.join("\n", lines));
    }

    @Test
    void workWithItsOwnLinesPrintsOnlyThoseOffATerminal() {
        try (Progress p = Progress.of(out, Progress.Style.LINES, "rounds", 3, false, clock::get)) {
            for (int i = 1; i <= 3; i++) {
                p.log("round " + i + "/3");
                p.set(i);
            }
        }
        assertEquals(List.of("round 1/3", "round 2/3", "round 3/3"), bytes.toString(StandardCharsets.UTF_8).lines().toList());
    }

    @Test
    void onATerminalTheBarIsRedrawnInPlaceUnderTheLogLines() {
        try (Progress p = Progress.of(out, Progress.Style.BAR, "rounds", 4, false, clock::get)) {
            p.log("round 1/4");
            clock.addAndGet(1_000_000_000L);
            p.set(1);
            p.log("round 2/4");
            clock.addAndGet(1_000_000_000L);
            p.set(2);
        }
        String s = bytes.toString(StandardCharsets.UTF_8);
        assertTrue(s.contains("round 2/4\n"), s);
        assertTrue(s.contains("\r\033[2Krounds [############------------] 2/4 (50%)  0:02  ETA 0:02"), s);
        assertTrue(s.endsWith("\n"), "the finished bar keeps its line");
        assertEquals(3, s.chars().filter(c -> c == '\n').count(), "two log lines and the final bar: " + s);
    }
}
