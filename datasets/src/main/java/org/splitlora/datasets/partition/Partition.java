package org.splitlora.datasets.partition;

/**
 * The result of partitioning n examples: {@code clientOf[i]} is the client of example i (in the
 * order given), {@code classOf[i]} the class it was split by (label or length bucket; all 0 for
 * IID), {@code draws} how many Dirichlet draws it took to meet the minimum per client.
 */
public record Partition(int[] clientOf, int[] classOf, int draws) {}
