package org.splitlora.federation;

import java.io.Serializable;
import java.time.Duration;
import org.splitlora.split.ActivationPrivacy;
import org.splitlora.split.WireDtype;

/**
 * What a client needs to reach the split server: address, the run's secret, the server's TLS
 * certificate (PEM, null for plaintext), limits, how it encodes activations, and how many
 * micro-batches it keeps in flight within a step (split.pipelineDepth).
 */
public record SplitEndpoint(String host, int port, String secret, byte[] trustedCertPem, int maxMessageBytes,
                            Duration timeout, WireDtype dtype, ActivationPrivacy privacy, int pipelineDepth) implements Serializable {
    private static final long serialVersionUID = 1L;
}
