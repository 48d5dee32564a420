package org.splitlora.federation;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.NoSuchFileException;
import java.util.Set;
import org.splitlora.model.weights.ModelLoadException;

/**
 * A client task failure that a retry cannot fix, thrown by the task and named by its class in
 * Spark's task-end event, so that {@link RoundFailures} ends the round at once instead of Spark
 * re-running the barrier stage spark.stage.maxConsecutiveAttempts times. The message names the
 * client and the cause.
 */
public final class ClientFailure extends RuntimeException {

    private static final long serialVersionUID = 1L;
    /** The split server's refusals that no retry changes: malformed frames (a config mismatch), the run secret, the message size limit. */
    private static final Set<Status.Code> REFUSALS = Set.of(Status.Code.INVALID_ARGUMENT, Status.Code.UNAUTHENTICATED,
            Status.Code.RESOURCE_EXHAUSTED);

    ClientFailure(String message, Throwable cause) {
        super(message, cause);
    }

    static ClientFailure of(int client, Throwable cause) {
        // an UncheckedIOException's own message is its cause's class and message
        Throwable shown = cause instanceof UncheckedIOException && cause.getCause() != null ? cause.getCause() : cause;
        return new ClientFailure("client " + client + ": " + shown.getMessage(), cause);
    }

    /**
     * Whether {@code t} fails again on retry: a missing file, a model file that cannot be used, a
     * refusal in {@link #REFUSALS}. Any other I/O error, a timeout, a lost peer or a server-side
     * compute error may pass on retry, so Spark gets to retry it.
     */
    static boolean permanent(Throwable t) {
        boolean unusableModel = false;
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof ClientFailure || c instanceof FileNotFoundException || c instanceof NoSuchFileException) {
                return true;
            }
            if (c instanceof IOException) {
                return false; // a read that failed may succeed next time
            }
            if (c instanceof StatusRuntimeException s) {
                return REFUSALS.contains(s.getStatus().getCode());
            }
            unusableModel |= c instanceof ModelLoadException;
        }
        return unusableModel;
    }
}
