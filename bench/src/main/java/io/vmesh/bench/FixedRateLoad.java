package io.vmesh.bench;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseDecoder;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import java.io.BufferedOutputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.HistogramLogWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * An open-loop HTTP/1.1 load generator: request {@code i} is due at {@code start + i / rate}, whatever
 * the answers before it did, and its latency is measured from that due time (wrk2's correction for
 * coordinated omission). Requests go over a fixed set of keep-alive connections, one request at a time
 * each; a request due while every connection is busy waits for the first free one, and the wait counts in
 * its latency. All of it runs on one Netty event loop (epoll where available: its timers fire with
 * sub-millisecond precision), so the generator costs little CPU next to what it measures.
 *
 * <p>Given several URLs, it interleaves them in time: the one schedule is cut into blocks of
 * {@code --block-ms}, and block {@code k} goes to URL {@code k mod n}, each over its own connections, so
 * every URL gets {@code --duration} seconds at the rate and a change in the machine's load (another
 * process, a build) lands on all of them alike. Comparing two URLs measured this way pairs them within
 * seconds instead of within minutes.
 *
 * <p>{@code java -cp bench/target/vmesh-benchmarks.jar io.vmesh.bench.FixedRateLoad -R 1000 -d 10 -c 10 http://127.0.0.1:8080/1k}
 */
@Command(name = "fixed-rate", mixinStandardHelpOptions = true,
    description = {"Sends HTTP/1.1 GETs at a fixed rate over keep-alive connections (open loop) and prints the",
        "achieved rate, errors and latency percentiles measured from each request's scheduled send time.",
        "Several URLs are interleaved in blocks of --block-ms, each for --duration seconds in all."})
public final class FixedRateLoad implements Callable<Integer> {

  @Parameters(arity = "1..*", paramLabel = "URL", description = "http://host:port/path (the host is dialled as given); several are interleaved")
  List<URI> urls;

  @Option(names = {"-R", "--rate"}, required = true, paramLabel = "REQ_PER_S", description = "requests per second")
  double rate;

  @Option(names = {"-d", "--duration"}, defaultValue = "10", paramLabel = "S", description = "seconds of sending to each URL (default ${DEFAULT-VALUE})")
  double durationSeconds;

  @Option(names = {"-c", "--connections"}, defaultValue = "10", paramLabel = "N", description = "keep-alive connections to each URL (default ${DEFAULT-VALUE})")
  int connections;

  @Option(names = "--block-ms", defaultValue = "1000", paramLabel = "MS",
      description = "with several URLs, how long each gets the schedule before the next (default ${DEFAULT-VALUE})")
  long blockMillis;

  @Option(names = "--timeout", defaultValue = "2000", paramLabel = "MS",
      description = "a request without its whole response this long after it was sent is an error, its connection replaced (default ${DEFAULT-VALUE})")
  long timeoutMillis;

  @Option(names = "--warmup", defaultValue = "0", paramLabel = "S",
      description = "first send at the same rate for this long to each URL, unrecorded, so the JIT has compiled this side (default ${DEFAULT-VALUE})")
  double warmupSeconds;

  @Option(names = "--hdr-log", paramLabel = "FILE", description = "also write the latencies (ns) as an HdrHistogram log, one interval a second (one URL only)")
  Path hdrLog;

  @Option(names = "--trace", paramLabel = "FILE",
      description = {"also write one line per answered request: due, sent and answered times in ns of System.nanoTime",
          "(CLOCK_MONOTONIC, the clock of -Xlog's `tn` decoration), to line slow requests up with another process's pauses;",
          "with several URLs one file each, FILE.0, FILE.1, ... in the order given"})
  Path trace;

  /** Where to send: the address dialled, the Host header and the request target. */
  public record Target(InetSocketAddress address, String host, String path) {

    /** {@code http://host[:port]/path[?query]}; anything else is refused, naming the URL. */
    public static Target of(URI url) {
      if (!"http".equals(url.getScheme()) || url.getHost() == null) {
        throw new IllegalArgumentException("URL must be http://host[:port]/path, got " + url);
      }
      String path = url.getRawPath() == null || url.getRawPath().isEmpty() ? "/" : url.getRawPath();
      if (url.getRawQuery() != null) {
        path += "?" + url.getRawQuery();
      }
      int port = url.getPort() < 0 ? 80 : url.getPort();
      return new Target(new InetSocketAddress(url.getHost(), port), url.getHost() + (url.getPort() < 0 ? "" : ":" + port), path);
    }
  }

  /**
   * What a run measured for one URL: {@code completed} requests were answered (any status; {@code non2xx} of them not
   * 2xx), the others failed as resets (the connection closed unanswered) or timeouts (also those that found
   * no connection for a whole timeout); {@code connectErrors} counts failed connection attempts. Latencies, of the answered ones only, in
   * nanoseconds from each request's due time; {@code sendDelay}, of the same requests, from the due time to the send
   * (the generator's own lateness: its timer, its thread waiting for a CPU, or every connection busy).
   */
  public record Result(double targetRate, long due, long completed, double achievedRate, long non2xx, long connectErrors,
                       long resets, long timeouts, Histogram latency, Histogram sendDelay, long[] times) {

    /** Writes {@link #times}: one line {@code due sent answered} per answered request, in the order answered. */
    public void writeTrace(PrintStream out) {
      for (int i = 0; i + 2 < times.length; i += 3) {
        out.append(Long.toString(times[i])).append(' ').append(Long.toString(times[i + 1])).append(' ')
            .append(Long.toString(times[i + 2])).append('\n');
      }
    }

    /** Requests not answered 2xx; failed connection attempts are not requests, and are reported apart. */
    public long errors() {
      return non2xx + resets + timeouts;
    }

    public long percentileMicros(double p) {
      return TimeUnit.NANOSECONDS.toMicros(latency.getValueAtPercentile(p));
    }

    public long sendDelayMicros(double p) {
      return TimeUnit.NANOSECONDS.toMicros(sendDelay.getValueAtPercentile(p));
    }

    /** The human summary, then one {@code RESULT} line for scripts (µs). */
    public String report() {
      return String.format(Locale.ROOT, """
              %d requests due at %.0f req/s, %d completed: %.1f req/s
              errors %d: non-2xx %d, reset %d, timeout %d; failed connection attempts %d
              latency from the scheduled send time, µs: p50 %d  p90 %d  p99 %d  p99.9 %d  max %d
              of which the generator's send delay, µs: p50 %d  p99 %d  p99.9 %d  max %d
              RESULT rate=%.1f count=%d errors=%d p50=%d p90=%d p99=%d p999=%d max=%d late50=%d late99=%d late999=%d
              """, due, targetRate, completed, achievedRate, errors(), non2xx, resets, timeouts, connectErrors,
          percentileMicros(50), percentileMicros(90), percentileMicros(99), percentileMicros(99.9), percentileMicros(100),
          sendDelayMicros(50), sendDelayMicros(99), sendDelayMicros(99.9), sendDelayMicros(100),
          achievedRate, completed, errors(), percentileMicros(50), percentileMicros(90), percentileMicros(99),
          percentileMicros(99.9), percentileMicros(100), sendDelayMicros(50), sendDelayMicros(99), sendDelayMicros(99.9));
    }
  }

  public static void main(String[] args) {
    System.exit(new CommandLine(new FixedRateLoad()).execute(args));
  }

  @Override
  public Integer call() throws Exception {
    CommandLine cli = new CommandLine(this);
    if (rate <= 0 || durationSeconds <= 0 || connections < 1 || timeoutMillis < 1 || warmupSeconds < 0 || blockMillis < 1) {
      throw new CommandLine.ParameterException(cli,
          "--rate, --duration, --connections, --timeout and --block-ms must be positive, --warmup not negative (got " + rate + ", "
              + durationSeconds + ", " + connections + ", " + timeoutMillis + ", " + blockMillis + ", " + warmupSeconds + ")");
    }
    if (hdrLog != null && urls.size() > 1) {
      throw new CommandLine.ParameterException(cli, "--hdr-log takes one URL, got " + urls.size());
    }
    List<Target> targets = new ArrayList<>();
    for (URI url : urls) {
      try {
        targets.add(Target.of(url));
      } catch (IllegalArgumentException e) {
        throw new CommandLine.ParameterException(cli, e.getMessage());
      }
    }
    long timeout = TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
    long block = TimeUnit.MILLISECONDS.toNanos(blockMillis);
    if (warmupSeconds > 0) {
      long warm = Math.round(warmupSeconds * 1e9);
      run(targets, rate, warm, Math.min(block, warm), connections, timeout, null);
    }
    List<Result> results;
    try (PrintStream log = hdrLog == null ? null : new PrintStream(new FileOutputStream(hdrLog.toFile()), false, StandardCharsets.UTF_8)) {
      results = run(targets, rate, Math.round(durationSeconds * 1e9), block, connections, timeout, log);
    }
    for (int i = 0; i < results.size(); i++) {
      if (trace != null) {
        Path file = results.size() == 1 ? trace : trace.resolveSibling(trace.getFileName() + "." + i);
        try (PrintStream out = new PrintStream(new BufferedOutputStream(new FileOutputStream(file.toFile())), false,
            StandardCharsets.US_ASCII)) {
          results.get(i).writeTrace(out);
        }
      }
      if (results.size() > 1) {
        System.out.println("== " + urls.get(i));
      }
      System.out.print(results.get(i).report());
    }
    return results.stream().allMatch(r -> r.completed() > 0) ? 0 : 1;
  }

  /**
   * Runs one measurement against one URL and returns when every due request has completed or failed.
   *
   * @param hdrLog where to write the HdrHistogram interval log, or null
   */
  public static Result run(InetSocketAddress target, String host, String path, double rate, long durationNanos,
                           int connections, long timeoutNanos, PrintStream hdrLog) throws Exception {
    return run(List.of(new Target(target, host, path)), rate, durationNanos, durationNanos, connections, timeoutNanos, hdrLog).get(0);
  }

  /**
   * Runs one measurement over several targets interleaved in blocks of {@code blockNanos} (each target gets
   * {@code durationNanos} in all, rounded to whole blocks) and returns, in the targets' order, when every due
   * request has completed or failed.
   *
   * @param hdrLog where to write the HdrHistogram interval log (one target only), or null
   */
  public static List<Result> run(List<Target> targets, double rate, long durationNanos, long blockNanos, int connections,
                                 long timeoutNanos, PrintStream hdrLog) throws Exception {
    if (targets.isEmpty() || (hdrLog != null && targets.size() > 1)) {
      throw new IllegalArgumentException("one or more targets, and an HdrHistogram log for one target only (got " + targets.size() + ")");
    }
    boolean epoll = Epoll.isAvailable();
    IoHandlerFactory io = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
    EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, io);
    try {
      Run run = new Run(group.next(), epoll ? EpollSocketChannel.class : NioSocketChannel.class, targets, rate, durationNanos,
          blockNanos, connections, timeoutNanos, hdrLog);
      run.loop.execute(run::start);
      return run.done.get(run.total * run.intervalNanos + 10 * timeoutNanos + TimeUnit.SECONDS.toNanos(30), TimeUnit.NANOSECONDS);
    } finally {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }
  }

  /** One measurement: the schedule, shared by the targets; every field is touched on the event loop only. */
  private static final class Run {
    private static final long MAX_LATENCY = TimeUnit.MINUTES.toNanos(5);
    private static final long RECONNECT_DELAY = TimeUnit.MILLISECONDS.toNanos(10);

    final EventLoop loop;
    final CompletableFuture<List<Result>> done = new CompletableFuture<>();
    final long intervalNanos;
    final long total;
    private final double rate;
    private final long timeoutNanos;
    private final long perTarget;
    private final long blockRequests;
    private final List<Load> loads = new ArrayList<>();
    private final HistogramLogWriter logWriter;
    private long connectStarted = -1;
    private long start;
    private long scheduled;

    Run(EventLoop loop, Class<? extends SocketChannel> channelType, List<Target> targets, double rate, long durationNanos,
        long blockNanos, int connections, long timeoutNanos, PrintStream hdrLog) {
      this.loop = loop;
      this.rate = rate;
      this.intervalNanos = Math.max(1, Math.round(1_000_000_000d / rate));
      long requests = Math.max(1, durationNanos / intervalNanos);
      if (targets.size() == 1) {
        blockRequests = requests;
        perTarget = requests;
      } else {
        // whole blocks, so every target gets as many requests and as many turns
        blockRequests = Math.max(1, blockNanos / intervalNanos);
        perTarget = Math.max(1, Math.round((double) requests / blockRequests)) * blockRequests;
      }
      this.total = perTarget * targets.size();
      this.timeoutNanos = timeoutNanos;
      this.logWriter = hdrLog == null ? null : new HistogramLogWriter(hdrLog);
      for (Target t : targets) {
        loads.add(new Load(channelType, t, connections));
      }
    }

    void start() {
      loads.forEach(Load::connectAll);
      // the schedule starts once the connections are up (or failed), so connecting is not measured
      loop.schedule(this::begin, 0, TimeUnit.NANOSECONDS);
    }

    private void begin() {
      boolean connecting = loads.stream().anyMatch(l -> l.conns.stream().anyMatch(c -> c.connecting));
      if (connecting && System.nanoTime() - startOfConnect() < timeoutNanos) {
        loop.schedule(this::begin, 1, TimeUnit.MILLISECONDS);
        return;
      }
      start = System.nanoTime();
      if (logWriter != null) {
        logWriter.outputLogFormatVersion();
        logWriter.outputStartTime(System.currentTimeMillis());
        logWriter.outputLegend();
        loads.get(0).interval.setStartTimeStamp(System.currentTimeMillis());
        loop.scheduleAtFixedRate(this::logInterval, 1, 1, TimeUnit.SECONDS);
      }
      loop.scheduleAtFixedRate(this::checkTimeouts, 50, 50, TimeUnit.MILLISECONDS);
      tick();
    }

    private long startOfConnect() {
      if (connectStarted < 0) {
        connectStarted = System.nanoTime();
      }
      return connectStarted;
    }

    /** Queues every request due by now at its target, hands them to free connections, and sleeps until the next is due. */
    private void tick() {
      long now = System.nanoTime();
      while (scheduled < total && start + scheduled * intervalNanos <= now) {
        loads.get((int) ((scheduled / blockRequests) % loads.size())).enqueue(start + scheduled * intervalNanos);
        scheduled++;
      }
      loads.forEach(Load::dispatch);
      if (scheduled < total) {
        loop.schedule(this::tick, start + scheduled * intervalNanos - now, TimeUnit.NANOSECONDS);
      }
    }

    private void finishIfDone() {
      if (scheduled < total || done.isDone() || loads.stream().anyMatch(l -> l.completed + l.failed < perTarget)) {
        return;
      }
      List<Result> results = new ArrayList<>();
      for (Load l : loads) {
        l.all.add(l.interval);
        if (logWriter != null) {
          l.interval.setEndTimeStamp(System.currentTimeMillis());
          logWriter.outputIntervalHistogram(l.interval);
        }
        l.conns.forEach(c -> c.closing = true);
        l.conns.forEach(c -> {
          if (c.channel != null) {
            c.channel.close();
          }
        });
        // over the time the target had the schedule: its requests' span, plus how long its last answer took
        double seconds = Math.max(1, (perTarget - 1) * intervalNanos + Math.max(0, l.lastCompletion - l.lastDue)) / 1e9;
        results.add(new Result(rate, perTarget, l.completed, l.completed / seconds, l.non2xx, l.connectErrors, l.resets,
            l.timeouts, l.all.copy(), l.sendDelay.copy(), Arrays.copyOf(l.times, l.timesLength)));
      }
      done.complete(results);
    }

    private void logInterval() {
      if (!done.isDone()) {
        Load l = loads.get(0);
        l.all.add(l.interval);
        long now = System.currentTimeMillis();
        l.interval.setEndTimeStamp(now);
        logWriter.outputIntervalHistogram(l.interval);
        l.interval.reset();
        l.interval.setStartTimeStamp(now);
      }
    }

    private void checkTimeouts() {
      loads.forEach(Load::checkTimeouts);
    }

    /** One target's connections, queue and counts. */
    private final class Load {
      private final Bootstrap bootstrap;
      private final ByteBuf request;
      private final int connections;
      final Histogram all = new Histogram(MAX_LATENCY, 3);
      final Histogram interval = new Histogram(MAX_LATENCY, 3);
      final Histogram sendDelay = new Histogram(MAX_LATENCY, 3);
      // due, sent, answered (ns) of each answered request, kept in memory so the run writes no file
      long[] times;
      int timesLength;
      final List<Conn> conns = new ArrayList<>();
      private final ArrayDeque<Conn> idle = new ArrayDeque<>();
      // due times of requests waiting for a free connection, oldest first
      private long[] waiting = new long[1024];
      private int waitHead;
      private int waitSize;
      long completed;
      long failed;
      long lastCompletion;
      long lastDue;
      long non2xx;
      long connectErrors;
      long resets;
      long timeouts;

      Load(Class<? extends SocketChannel> channelType, Target target, int connections) {
        byte[] head = ("GET " + target.path() + " HTTP/1.1\r\nHost: " + target.host() + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1);
        this.request = Unpooled.unreleasableBuffer(Unpooled.directBuffer(head.length).writeBytes(head));
        this.connections = connections;
        this.times = new long[(int) Math.min(3L * perTarget, 3L << 20)];
        this.bootstrap = new Bootstrap().group(loop).channel(channelType).remoteAddress(target.address())
            .option(ChannelOption.TCP_NODELAY, true)
            .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.max(1, TimeUnit.NANOSECONDS.toMillis(timeoutNanos)));
      }

      void connectAll() {
        for (int i = 0; i < connections; i++) {
          Conn c = new Conn();
          conns.add(c);
          c.connect();
        }
      }

      void enqueue(long due) {
        lastDue = due;
        if (waitSize == waiting.length) {
          long[] grown = new long[waiting.length * 2];
          for (int i = 0; i < waitSize; i++) {
            grown[i] = waiting[(waitHead + i) % waiting.length];
          }
          waiting = grown;
          waitHead = 0;
        }
        waiting[(waitHead + waitSize) % waiting.length] = due;
        waitSize++;
      }

      void dispatch() {
        while (waitSize > 0 && !idle.isEmpty()) {
          long due = waiting[waitHead];
          waitHead = (waitHead + 1) % waiting.length;
          waitSize--;
          idle.poll().send(due);
        }
      }

      private void complete(long due, long sent, boolean answered) {
        long now = System.nanoTime();
        if (answered) {
          interval.recordValue(Math.min(now - due, MAX_LATENCY));
          sendDelay.recordValue(Math.min(Math.max(0, sent - due), MAX_LATENCY));
          if (timesLength + 3 > times.length) {
            times = Arrays.copyOf(times, times.length * 2);
          }
          times[timesLength++] = due;
          times[timesLength++] = sent;
          times[timesLength++] = now;
          completed++;
          lastCompletion = now;
        } else {
          failed++;
        }
        finishIfDone();
      }

      void checkTimeouts() {
        long now = System.nanoTime();
        for (Conn c : conns) {
          if (c.inFlight && now - c.sentAt > timeoutNanos) {
            timeouts++;
            c.fail();
          }
        }
        // requests that found no connection for a whole timeout (every one broken) fail too
        while (waitSize > 0 && now - waiting[waitHead] > timeoutNanos && idle.isEmpty() && conns.stream().noneMatch(c -> c.inFlight)) {
          waitHead = (waitHead + 1) % waiting.length;
          waitSize--;
          timeouts++;
          complete(0, 0, false);
        }
      }

      /** One keep-alive connection, one request at a time. */
      private final class Conn extends SimpleChannelInboundHandler<HttpObject> {
        Channel channel;
        boolean connecting;
        boolean closing;
        boolean inFlight;
        long due;
        long sentAt;
        int status;
        boolean keepAlive;

        void connect() {
          connecting = true;
          startOfConnect();
          ChannelFuture f = bootstrap.clone().handler(new ChannelInitializer<SocketChannel>() {
            @Override
            protected void initChannel(SocketChannel ch) {
              ch.pipeline().addLast(new HttpResponseDecoder(), Conn.this);
            }
          }).connect();
          channel = f.channel();
          f.addListener(r -> {
            connecting = false;
            if (r.isSuccess()) {
              idle.add(this);
              dispatch();
            } else if (!closing) {
              connectErrors++;
              loop.schedule(this::connect, RECONNECT_DELAY, TimeUnit.NANOSECONDS);
            }
          });
        }

        void send(long due) {
          this.due = due;
          inFlight = true;
          sentAt = System.nanoTime();
          status = 0;
          channel.writeAndFlush(request.duplicate());
        }

        @Override
        public boolean isSharable() {
          // re-added to each replacement channel; only the current one is listened to
          return true;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, HttpObject msg) {
          if (ctx.channel() != channel) {
            return;
          }
          if (msg instanceof HttpResponse response) {
            status = response.status().code();
            keepAlive = HttpUtil.isKeepAlive(response);
          }
          if (msg instanceof LastHttpContent && inFlight) {
            inFlight = false;
            if (status < 200 || status >= 300) {
              non2xx++;
            }
            // answered, whatever the status (as wrk counts): its latency is recorded
            complete(due, sentAt, true);
            if (keepAlive && channel.isActive()) {
              idle.add(this);
              dispatch();
            } else {
              replace();
            }
          }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
          if (ctx.channel() != channel || closing) {
            return;
          }
          if (inFlight) {
            resets++;
            inFlight = false;
            complete(due, sentAt, false);
          }
          replace();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
          // a reset or a malformed response: channelInactive counts it
          ctx.close();
        }

        /** A timed-out request: counted by the caller; the connection cannot be reused. */
        void fail() {
          inFlight = false;
          complete(due, sentAt, false);
          replace();
        }

        private void replace() {
          idle.remove(this);
          Channel old = channel;
          channel = null;
          if (old != null) {
            old.close();
          }
          if (!closing && !done.isDone()) {
            connect();
          }
        }
      }
    }
  }
}
