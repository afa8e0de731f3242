package io.vmesh.sandbox.topology;

/** Something the sandbox needed from the machine (a namespace, a link, a process) did not happen. */
public class SandboxException extends RuntimeException {
  public SandboxException(String message) {
    super(message);
  }

  public SandboxException(String message, Throwable cause) {
    super(message, cause);
  }
}
