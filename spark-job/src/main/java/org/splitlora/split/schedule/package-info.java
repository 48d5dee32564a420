/**
 * When the split server serves what: a {@link org.splitlora.split.schedule.StepScheduler} decides,
 * from the micro-batches clients send, which are served together as one group and in which order,
 * and when a stage attempt is over; {@link org.splitlora.split.schedule.LockStepScheduler} is
 * lock-step. Nothing here knows gRPC or tensors.
 */
package org.splitlora.split.schedule;
