/**
 * SplitFT's adaptive cut layers: after every round a {@link org.splitlora.splitft.CutPolicy}
 * moves each client's cut from what the round measured (compute per step, local loss).
 */
package org.splitlora.splitft;
