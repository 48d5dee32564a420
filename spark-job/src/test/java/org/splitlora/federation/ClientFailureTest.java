package org.splitlora.federation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.UncheckedIOException;
import org.junit.jupiter.api.Test;
import org.splitlora.model.weights.ModelLoadException;
import org.splitlora.split.SplitExchangeException;

/** Which client task failures a retry cannot fix (the round ends at once) and which Spark retries. */
class ClientFailureTest {

    @Test
    void missingFilesUnusableModelsAndConfigRefusalsArePermanent() {
        assertTrue(ClientFailure.permanent(new UncheckedIOException(new FileNotFoundException("part-00000.snappy.parquet"))));
        assertTrue(ClientFailure.permanent(new ModelLoadException("/models/x: model directory not found")));
        assertTrue(ClientFailure.permanent(new ModelLoadException("config.json: not a JSON object", new IllegalStateException())));
        assertTrue(ClientFailure.permanent(refused(Status.INVALID_ARGUMENT)), "a frame the server cannot use");
        assertTrue(ClientFailure.permanent(refused(Status.RESOURCE_EXHAUSTED)), "a frame over split.maxMessageSize");
    }

    @Test
    void timeoutsLostPeersAndReadErrorsAreRetried() {
        assertFalse(ClientFailure.permanent(new ModelLoadException("cannot copy the model: reset", new IOException("reset"))));
        assertFalse(ClientFailure.permanent(refused(Status.ABORTED)), "another client left");
        assertFalse(ClientFailure.permanent(refused(Status.UNAVAILABLE)));
        assertFalse(ClientFailure.permanent(new SplitExchangeException("no reply within 300s (split.stepTimeout)", null)));
        assertFalse(ClientFailure.permanent(new IllegalStateException("injected failure")));
    }

    @Test
    void theMessageNamesTheClientAndTheCause() {
        ClientFailure f = ClientFailure.of(4, new ModelLoadException("/m/model.safetensors: weight file not found"));
        assertEquals("client 4: /m/model.safetensors: weight file not found", f.getMessage());
    }

    private static SplitExchangeException refused(Status status) {
        return new SplitExchangeException("split server refused step 0 of client 1: " + status.getCode(),
                status.withDescription("test").asRuntimeException());
    }
}
