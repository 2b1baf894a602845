import CoreMetrics
import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus
import ServiceLifecycle

/// A small HTTP server that answers `GET /metrics` with the Prometheus text format, for executables: the
/// `zkoffsets exporter` and the example consumers' `--metrics-listen`.
///
/// It runs on swift-nio's shared event loops (no thread of Swift's cooperative pool blocks on a socket), serves
/// whatever its `body` returns at the time of the request, and conforms to `Service`: in a `ServiceGroup` it stops
/// listening on graceful shutdown or cancellation.
public final class MetricsEndpoint: Service, Sendable {
    /// What a scrape returns: the exposition bytes, or nil while there is nothing to serve yet (answered
    /// `503 Service Unavailable`, which Prometheus records as a failed scrape).
    public typealias Body = @Sendable () -> [UInt8]?

    private let channel: any Channel
    /// The address the server listens on, `host:port` (the port the system chose when 0 was asked for).
    public let address: String

    private init(channel: any Channel, address: String) {
        self.channel = channel
        self.address = address
    }

    /// Listens on `listen` (`HOST:PORT`, `[IPv6]:PORT`, or `:PORT` for every interface) and serves `body`.
    /// Throws `MetricsEndpointError` for a malformed address, the system's error when the port cannot be bound.
    public static func bind(listen: String, body: @escaping Body) async throws -> MetricsEndpoint {
        let (host, port) = try parse(listen: listen)
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(MetricsRequestHandler(body: body))
                }
            }
        let channel = try await bootstrap.bind(host: host, port: port).get()
        let bound = channel.localAddress?.port ?? port
        let shownHost = host.contains(":") ? "[\(host)]" : host
        return MetricsEndpoint(channel: channel, address: "\(shownHost):\(bound)")
    }

    /// Listens on `listen` and serves `registry`.
    public static func bind(listen: String, registry: PrometheusCollectorRegistry) async throws -> MetricsEndpoint {
        try await bind(listen: listen) { registry.emitToBuffer() }
    }

    /// For an executable's `--metrics-listen`: bootstraps swift-metrics with a Prometheus registry (so that the
    /// library's `ConsumerMetrics` land in it) and serves it. Nil, and nothing bootstrapped, when `listen` is nil.
    /// Call it once, before the clients whose metrics should be served are made.
    public static func servingMetricsSystem(listen: String?) async throws -> MetricsEndpoint? {
        guard let listen else { return nil }
        _ = try parse(listen: listen)
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return try await bind(listen: listen, registry: registry)
    }

    /// Serves until graceful shutdown or cancellation, then stops listening.
    public func run() async throws {
        let channel = self.channel
        try await withTaskCancellationOrGracefulShutdownHandler {
            try await channel.closeFuture.get()
        } onCancelOrGracefulShutdown: {
            channel.close(promise: nil)
        }
    }

    /// Stops listening (connections being answered finish). Safe to call more than once.
    public func close() async {
        try? await channel.close()
    }

    /// `HOST:PORT`, `[IPv6]:PORT` or `:PORT` (every interface).
    public static func parse(listen: String) throws -> (host: String, port: Int) {
        let invalid = MetricsEndpointError(message: "'\(listen)' is not HOST:PORT (e.g. 127.0.0.1:9308 or :9308)")
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]),
            (0...65535).contains(port)
        else { throw invalid }
        var host = String(listen[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.isEmpty { host = "0.0.0.0" }
        guard !host.contains(":") || listen.hasPrefix("[") else { throw invalid }
        return (host, port)
    }
}

/// A listen address that cannot be parsed.
public struct MetricsEndpointError: Error, Sendable, CustomStringConvertible {
    /// What is wrong, for people.
    public var message: String
    /// The message.
    public var description: String { message }
}

/// Answers one HTTP/1.1 connection's requests: `GET|HEAD /metrics` with the body, `/` with a pointer to it, 404 for
/// other paths and 405 for other methods. Runs on the channel's event loop only.
final class MetricsRequestHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let body: MetricsEndpoint.Body
    private var head: HTTPRequestHead?

    init(body: @escaping MetricsEndpoint.Body) {
        self.body = body
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): self.head = head
        case .body: break
        case .end:
            guard let head else { return }
            self.head = nil
            respond(context: context, to: head)
        }
    }

    private func respond(context: ChannelHandlerContext, to request: HTTPRequestHead) {
        let path = request.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        let status: HTTPResponseStatus
        var contentType = "text/plain; charset=utf-8"
        let bytes: [UInt8]
        switch (request.method, path) {
        case (.GET, "/metrics"), (.HEAD, "/metrics"):
            if let metrics = body() {
                status = .ok
                contentType = "text/plain; version=0.0.4; charset=utf-8"
                bytes = metrics
            } else {
                status = .serviceUnavailable
                bytes = Array("no collection has finished yet\n".utf8)
            }
        case (.GET, "/"), (.HEAD, "/"):
            status = .ok
            bytes = Array("metrics: /metrics\n".utf8)
        case (.GET, _), (.HEAD, _):
            status = .notFound
            bytes = Array("not found: metrics are at /metrics\n".utf8)
        default:
            status = .methodNotAllowed
            bytes = Array("only GET and HEAD\n".utf8)
        }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: contentType)
        headers.add(name: "Content-Length", value: String(bytes.count))
        if !request.isKeepAlive { headers.add(name: "Connection", value: "close") }
        let response = HTTPResponseHead(version: request.version, status: status, headers: headers)
        context.write(wrapOutboundOut(.head(response)), promise: nil)
        if request.method != .HEAD {
            let buffer = context.channel.allocator.buffer(bytes: bytes)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !request.isKeepAlive {
            let channel = context.channel
            written.whenComplete { _ in channel.close(promise: nil) }
        }
    }
}
