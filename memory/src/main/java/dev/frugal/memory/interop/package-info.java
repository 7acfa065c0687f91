/**
 * Interoperation with JCuda: device memory, streams and the primary context cross between Frugal
 * and JCuda without copies ({@link dev.frugal.memory.interop.JCudaInterop}). JCuda is an optional
 * dependency; only this package refers to it.
 */
package dev.frugal.memory.interop;
