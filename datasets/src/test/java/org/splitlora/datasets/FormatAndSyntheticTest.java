package org.splitlora.datasets;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.splitlora.datasets.format.PromptCompletionFormat;
import org.splitlora.datasets.synthetic.SyntheticE2E;
import org.splitlora.datasets.tokenize.Gpt2BpeTokenizer;

class FormatAndSyntheticTest {

    @Test
    void e2eMeaningRepresentationBecomesTheRecipeContext() {
        assertEquals("name : The Vaults | eatType : pub | priceRange : more than £30 | near : Café Adriatic",
                PromptCompletionFormat.e2eContext(
                        "name[The Vaults], eatType[pub], priceRange[more than £30], near[Café Adriatic]"));
    }

    @Test
    void promptCompletionLayoutMasksOnlyTheCompletion() {
        Gpt2BpeTokenizer tok = new Gpt2BpeTokenizer();
        TokenizedExample e = PromptCompletionFormat.encode(tok, 7, "name : Aromi", "Aromi is a pub.");
        int[] ctx = tok.encode("name : Aromi", true);
        int[] cmp = tok.encode(" Aromi is a pub.", false);
        assertEquals(ctx.length + 1 + cmp.length + 1, e.length());
        assertEquals(50256, e.inputIds()[ctx.length]);
        assertEquals(50256, e.inputIds()[e.length() - 1]);
        for (int i = 0; i < e.length(); i++) {
            assertEquals(i > ctx.length ? 1 : 0, e.lossMask()[i], "mask at " + i);
        }
        assertEquals(cmp.length + 1, e.targetCount());
    }

    @Test
    void syntheticDataIsSeededAndFollowsTheE2ESchema() {
        List<SyntheticE2E.Pair> a = SyntheticE2E.generate(50, 1);
        List<SyntheticE2E.Pair> b = SyntheticE2E.generate(50, 1);
        List<SyntheticE2E.Pair> c = SyntheticE2E.generate(50, 2);
        assertEquals(a, b);
        assertNotEquals(a, c);
        for (SyntheticE2E.Pair p : a) {
            assertTrue(p.mr().startsWith("name["), p.mr());
            assertTrue(p.ref().startsWith(p.attributes().get("name")), p.ref());
            for (String key : p.attributes().keySet()) {
                assertTrue(List.of("name", "eatType", "food", "priceRange", "customer rating", "area",
                        "familyFriendly", "near").contains(key), key);
            }
        }
        assertArrayEquals(new Gpt2BpeTokenizer().encode(a.get(0).ref(), false), new Gpt2BpeTokenizer().encode(b.get(0).ref(), false));
    }
}
