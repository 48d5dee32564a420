package org.splitlora.split;

import java.nio.file.Path;
import java.time.Duration;

/**
 * Where and how the split server listens: bind address and port (0 = any free port), the run id
 * and secret clients must present, how long it waits for the clients of a step, how many
 * micro-batches a client may have waiting (split.pipelineDepth), the largest frame it accepts, how
 * many streams it keeps open at once, and optional TLS.
 */
public record ServerSettings(String bindHost, int port, String runId, String secret, Duration stepTimeout,
                             int pipelineDepth, int maxMessageBytes, int maxStreams, Tls tls) {

    /** PEM certificate chain and PKCS#8 private key; clients trust the chain. */
    public record Tls(Path certChain, Path privateKey) {}
}
