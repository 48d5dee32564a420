package org.splitlora.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.EnumSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splitlora.model.lora.LoraAdapters;
import org.splitlora.model.lora.LoraSpec;
import org.splitlora.model.lora.LoraTarget;

/**
 * One copy of a model's frozen weights per JVM and device: the whole model, client segments at
 * any cut and the server segment are views of it, each tensor read when a part first needs it,
 * freed when the last view closes; a model rewritten in place is a new copy; merging adapters
 * needs a private copy.
 */
class FrozenWeightsTest {

    @TempDir
    Path tmp;

    private ModelSource tinyLlama(String name, long seed) throws Exception {
        JsonObject c = TinyHfModels.config("llama", 61, 32, 4, 4, 2, 48, 64, false);
        TinyHfModels.write(tmp.resolve(name), c, seed);
        return ModelSource.of(tmp.resolve(name).toString());
    }

    @Test
    void everyPartIsAViewOfOneCopyReadPartByPart() throws Exception {
        ModelSource source = tinyLlama("m", 5);
        int[] ids = {1, 7, 30, 12, 44, 3};
        try (NDManager root = NDManager.newBaseManager()) {
            DecoderModel client = source.load(ModelPart.client(source.config(), 1), root);
            FrozenWeights frozen = client.frozenWeights();
            // embeddings and block 0: 1 + 9 tensors (2 norms, 7 projections)
            assertEquals(10, frozen.used().size());
            DecoderModel server = source.load(ModelPart.server(source.config(), 1), root);
            DecoderModel client3 = source.load(ModelPart.client(source.config(), 3), root);
            int afterParts = frozen.used().size();
            DecoderModel whole = source.loadWhole(root);
            assertSame(frozen, server.frozenWeights());
            assertSame(frozen, client3.frozenWeights());
            assertSame(frozen, whole.frozenWeights());
            // blocks 1..3, the final norm and the head were read by the other parts already
            assertEquals(afterParts, frozen.used().size(), "the whole model reads nothing more");
            assertEquals(1 + 4 * 9 + 2, frozen.used().size());
            // the views compute what a private copy computes
            try (DecoderModel own = source.loadPrivate(ModelPart.whole(source.config()), root)) {
                assertNotSame(frozen, own.frozenWeights());
                float[][] a = ModelTestSupport.logits(whole, null, ids);
                float[][] b = ModelTestSupport.logits(own, null, ids);
                for (int t = 0; t < ids.length; t++) {
                    for (int v = 0; v < a[t].length; v++) {
                        assertEquals(b[t][v], a[t][v], 0f);
                    }
                }
            }
            for (DecoderModel m : new DecoderModel[] {client, server, client3}) {
                m.close();
            }
            try (DecoderModel again = source.loadWhole(root)) {
                assertSame(frozen, again.frozenWeights(), "the whole model still holds the copy");
            }
            whole.close();
            whole.close(); // closing twice releases once
            try (DecoderModel fresh = source.loadWhole(root)) {
                assertNotSame(frozen, fresh.frozenWeights(), "the last view's close freed the copy");
            }
        }
    }

    @Test
    void aModelRewrittenInPlaceIsANewCopy() throws Exception {
        ModelSource first = tinyLlama("m", 5);
        try (NDManager root = NDManager.newBaseManager(); DecoderModel a = first.loadWhole(root)) {
            Path weights = tmp.resolve("m").resolve("model.safetensors");
            FileTime before = Files.getLastModifiedTime(weights);
            tinyLlama("m", 6);
            Files.setLastModifiedTime(weights, FileTime.fromMillis(before.toMillis() + 2000));
            try (DecoderModel b = ModelSource.of(tmp.resolve("m").toString()).loadWhole(root)) {
                assertNotSame(a.frozenWeights(), b.frozenWeights());
                int[] ids = {1, 2, 3};
                assertTrue(Math.abs(ModelTestSupport.logits(a, null, ids)[2][0] - ModelTestSupport.logits(b, null, ids)[2][0]) > 1e-3);
            }
        }
    }

    @Test
    void mergingNeedsAPrivateCopy() throws Exception {
        ModelSource source = tinyLlama("m", 5);
        try (NDManager root = NDManager.newBaseManager();
             DecoderModel shared = source.loadWhole(root);
             LoraAdapters lora = LoraAdapters.init(root, source.config(), LoraSpec.of(EnumSet.of(LoraTarget.Q), 2, 4, 0), 0, 4, 1)) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> shared.mergeLora(lora, 1));
            assertTrue(e.getMessage().contains("ModelSource.loadPrivate"), e.getMessage());
        }
    }
}
