using System.Buffers.Binary;
using System.Net;
using System.Text;

namespace NetDumplings.Traffic;

/// <summary>
/// Writes the small capture that ships in examples/ (demo.pcap): a few hundred packets over about
/// twenty seconds of one home network, built from <see cref="PcapGenerator"/>'s packets. Unlike
/// <see cref="PcapGenerator.WriteMixed"/> (bulk traffic, 10 µs apart) it tells a story a person
/// can follow when it is replayed paced: ARP to find the gateway, DNS lookups answered, then TCP
/// connections opened with an HTTP request (Host header) or a TLS ClientHello (SNI), data, and
/// UDP flows. The same seed always gives the same bytes.
/// </summary>
public static class DemoCaptureGenerator
{
    /// <summary>The names the demo's clients look up, and then connect to.</summary>
    public static readonly IReadOnlyList<string> HostNames =
    [
        "example.com", "www.wikipedia.org", "api.github.com", "deb.debian.org", "nuget.org",
        "time.cloudflare.com", "fonts.gstatic.com", "registry.npmjs.org",
    ];

    private static readonly IPAddress Resolver = PcapGenerator.Ip4(1);

    /// <summary>Writes the demo capture; returns what it wrote, so tests can check chefs against it.</summary>
    public static DemoCaptureSummary Write(string path, int seed = 7, double seconds = 20)
    {
        var random = new Random(seed);
        var summary = new DemoCaptureSummary();
        var start = new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
        var events = new List<(DateTimeOffset Time, byte[] Frame)>();
        void At(double second, byte[] frame) => events.Add((start + TimeSpan.FromSeconds(second), frame));

        // Hosts 10.0.0.2-6 are clients, 10.0.0.1 is the gateway and resolver; servers are 10.0.0.100+.
        int[] clients = [2, 3, 4, 5, 6];
        foreach (var client in clients)
        {
            var t = random.NextDouble() * seconds * 0.8;
            At(t, PcapGenerator.ArpRequest(PcapGenerator.Mac(client), PcapGenerator.Ip4(client), PcapGenerator.Ip4(1)));
            At(t + 0.002, PcapGenerator.ArpReply(PcapGenerator.Mac(1), PcapGenerator.Ip4(1), PcapGenerator.Mac(client), PcapGenerator.Ip4(client)));
            summary.ArpRequests++; summary.ArpReplies++;
        }

        var visits = 24;
        for (var i = 0; i < visits; i++)
        {
            var client = clients[random.Next(clients.Length)];
            var hostIndex = random.Next(HostNames.Count);
            var host = HostNames[hostIndex];
            var server = PcapGenerator.Ip4(100 + hostIndex);
            var clientIp = PcapGenerator.Ip4(client);
            var t = 0.3 + (seconds - 1.5) * i / visits + random.NextDouble() * 0.5;
            var port = (ushort)(40000 + i * 7 + client);
            var id = (ushort)random.Next(1, 65535);

            At(t, PcapGenerator.DnsQuery(host, clientIp, Resolver, port, id));
            At(t + 0.015, PcapGenerator.DnsResponse(host, Resolver, clientIp, port, id, server));
            summary.DnsQueries[host] = summary.DnsQueries.GetValueOrDefault(host) + 1;

            var tls = random.Next(3) != 0;
            var serverPort = (ushort)(tls ? 443 : 80);
            var request = tls ? ClientHello(host, random) : Encoding.ASCII.GetBytes(
                $"GET /{(i % 3 == 0 ? "" : "index.html")} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: netdumplings-demo/1.0\r\nAccept: */*\r\n\r\n");
            (tls ? summary.TlsServerNames : summary.HttpHosts)[host] =
                (tls ? summary.TlsServerNames : summary.HttpHosts).GetValueOrDefault(host) + 1;

            t += 0.03;
            At(t, PcapGenerator.Tcp(clientIp, server, port, serverPort, []));
            At(t + 0.02, PcapGenerator.Tcp(server, clientIp, serverPort, port, []));
            At(t + 0.021, PcapGenerator.Tcp(clientIp, server, port, serverPort, request));
            var replies = random.Next(3, 12);
            for (var r = 0; r < replies; r++)
            {
                var payload = new byte[random.Next(100, 700)];
                random.NextBytes(payload);
                At(t + 0.05 + r * 0.004, PcapGenerator.Tcp(server, clientIp, serverPort, port, payload));
                if (r % 2 == 1) At(t + 0.052 + r * 0.004, PcapGenerator.Tcp(clientIp, server, port, serverPort, []));
            }
        }

        // A few UDP flows beside the web traffic: NTP, a game/voice-like stream, mDNS-ish chatter.
        for (var i = 0; i < 40; i++)
        {
            var t = seconds * i / 40.0 + random.NextDouble() * 0.2;
            var payload = new byte[random.Next(40, 300)];
            random.NextBytes(payload);
            At(t, PcapGenerator.Udp(PcapGenerator.Ip4(4), PcapGenerator.Ip4(150), 51000, 3478, payload));
            if (i % 2 == 0) At(t + 0.01, PcapGenerator.Udp(PcapGenerator.Ip4(150), PcapGenerator.Ip4(4), 3478, 51000, payload));
        }
        for (var i = 0; i < 4; i++)
            At(seconds * i / 4 + 1.1, PcapGenerator.Udp(PcapGenerator.Ip4(5), PcapGenerator.Ip4(123), 123, 123, new byte[48]));

        using var writer = new PcapFileWriter(path);
        foreach (var (time, frame) in events.OrderBy(e => e.Time))
        {
            writer.Write(frame, time);
            summary.Packets++;
        }
        summary.FirstTime = start;
        summary.LastTime = events.Max(e => e.Time);
        return summary;
    }

    /// <summary>A TLS 1.2-style ClientHello record carrying one server_name extension.</summary>
    public static byte[] ClientHello(string serverName, Random random)
    {
        var name = Encoding.ASCII.GetBytes(serverName);
        var body = new List<byte>();
        void U8(int v) => body.Add((byte)v);
        void U16(int v) { body.Add((byte)(v >> 8)); body.Add((byte)v); }
        U16(0x0303);                                       // client_version
        var randomBytes = new byte[32]; random.NextBytes(randomBytes); body.AddRange(randomBytes);
        U8(0);                                             // session id
        U16(4); U16(0x1301); U16(0xc02f);                  // cipher suites
        U8(1); U8(0);                                      // compression: null
        U16(4 + 5 + name.Length);                          // extensions length
        U16(0x0000); U16(5 + name.Length);                 // server_name extension
        U16(3 + name.Length); U8(0); U16(name.Length); body.AddRange(name);

        var record = new byte[5 + 4 + body.Count];
        record[0] = 0x16; record[1] = 3; record[2] = 1;    // handshake, TLS 1.0 record version
        BinaryPrimitives.WriteUInt16BigEndian(record.AsSpan(3), (ushort)(4 + body.Count));
        record[5] = 1;                                     // client_hello
        record[6] = (byte)(body.Count >> 16); record[7] = (byte)(body.Count >> 8); record[8] = (byte)body.Count;
        body.CopyTo(record, 9);
        return record;
    }
}

/// <summary>What <see cref="DemoCaptureGenerator.Write"/> put in the capture.</summary>
public sealed class DemoCaptureSummary
{
    public long Packets { get; internal set; }
    public DateTimeOffset FirstTime { get; internal set; }
    public DateTimeOffset LastTime { get; internal set; }
    public long ArpRequests { get; internal set; }
    public long ArpReplies { get; internal set; }

    /// <summary>DNS queries per hostname (each is answered once).</summary>
    public Dictionary<string, long> DnsQueries { get; } = new(StringComparer.Ordinal);

    /// <summary>TLS ClientHellos per server name (SNI).</summary>
    public Dictionary<string, long> TlsServerNames { get; } = new(StringComparer.Ordinal);

    /// <summary>HTTP requests per Host header.</summary>
    public Dictionary<string, long> HttpHosts { get; } = new(StringComparer.Ordinal);
}
