package io.vmesh.sandbox.topology;

/** The uid and gid a pod's process runs as, like a container's securityContext. */
public record RunAs(int uid, int gid) {

  public static final RunAs ROOT = new RunAs(0, 0);

  public static RunAs user(int id) {
    return new RunAs(id, id);
  }

  boolean isRoot() {
    return uid == 0 && gid == 0;
  }

  /** What switches to this uid/gid before the command: setpriv execs it, so the pid and exit code are the command's. */
  public java.util.List<String> switchCommand() {
    return isRoot() ? java.util.List.of()
        : java.util.List.of("setpriv", "--reuid=" + uid, "--regid=" + gid, "--clear-groups");
  }
}
