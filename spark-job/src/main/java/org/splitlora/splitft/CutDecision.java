package org.splitlora.splitft;

/** A client's cut for the next round, moved from {@code from} to {@code to}, and why. */
public record CutDecision(int client, int from, int to, String reason) {}
