// A chef in C#: the web server names clients ask for, from the TLS ClientHello's server_name
// extension (SNI) and from the Host header of plain HTTP requests. The sample chefs see the DNS
// lookup; this one sees which of those names a connection was then actually made to.
//
//   Start-DumplingKitchen -Path ./examples/demo.pcap -ChefPath ./examples/ServerNameChef.cs -NoHub
//   Get-DumplingChef -Path ./examples/ServerNameChef.cs
//
// Payloads:
//   packet:   {"server_name": {"name": "api.github.com", "via": "tls"|"http", "client": "10.0.0.3", "when": 1767268800.5}}
//   interval: {"server_names_seen": {"api.github.com": {"tls": 3, "http": 1}}}   (at most MaxNames names)
using System;
using System.Collections.Generic;
using System.Text;
using NetDumplings.Chefs;
using NetDumplings.Packets;
using PacketDotNet;

namespace NetDumplings.Examples;

public sealed class ServerNameChef : DumplingChef
{
    private const int MaxNames = 500;
    private readonly Dictionary<string, Dictionary<string, long>> _seen = new(StringComparer.OrdinalIgnoreCase);

    public override object? OnPacket(ChefPacket packet)
    {
        var tcp = packet.Extract<TcpPacket>();
        if (tcp is null || !tcp.HasPayloadData) return null;
        var data = tcp.PayloadData;
        string? name; string via;
        if ((name = TlsServerName(data)) is not null) via = "tls";
        else if ((name = HttpHost(data)) is not null) via = "http";
        else return null;

        if (!_seen.TryGetValue(name, out var counts))
        {
            if (_seen.Count >= MaxNames) return null; // bounded: the interval dumpling stays small
            _seen[name] = counts = new Dictionary<string, long>();
        }
        counts[via] = counts.GetValueOrDefault(via) + 1;
        var ip = packet.Extract<IPPacket>();
        return new { server_name = new { name, via, client = ip?.SourceAddress.ToString(), when = packet.EpochSeconds } };
    }

    public override object? OnInterval() => _seen.Count == 0 ? null : new { server_names_seen = _seen };

    /// <summary>The host_name in a ClientHello's server_name extension, or null.</summary>
    public static string? TlsServerName(ReadOnlySpan<byte> d)
    {
        // record: type 22 (handshake), version, length; handshake: type 1 (client_hello), 3-byte length
        if (d.Length < 43 || d[0] != 0x16 || d[1] != 3 || d[5] != 1) return null;
        var p = 9 + 2 + 32;                                   // client_version, random
        if (p >= d.Length) return null;
        p += 1 + d[p];                                        // session id
        if (p + 2 > d.Length) return null;
        p += 2 + (d[p] << 8 | d[p + 1]);                      // cipher suites
        if (p >= d.Length) return null;
        p += 1 + d[p];                                        // compression methods
        if (p + 2 > d.Length) return null;
        var end = Math.Min(d.Length, p + 2 + (d[p] << 8 | d[p + 1]));
        p += 2;
        while (p + 4 <= end)
        {
            int type = d[p] << 8 | d[p + 1], length = d[p + 2] << 8 | d[p + 3];
            p += 4;
            if (type == 0 && p + 5 <= end && d[p + 2] == 0)  // server_name list, first entry host_name
            {
                var nameLength = d[p + 3] << 8 | d[p + 4];
                if (p + 5 + nameLength > end) return null;
                return Encoding.ASCII.GetString(d.Slice(p + 5, nameLength)).ToLowerInvariant();
            }
            p += length;
        }
        return null;
    }

    /// <summary>The Host header of an HTTP/1.x request that starts in this segment, or null.</summary>
    public static string? HttpHost(ReadOnlySpan<byte> d)
    {
        ReadOnlySpan<string> methods = ["GET ", "POST ", "HEAD ", "PUT ", "DELETE ", "OPTIONS ", "PATCH "];
        var starts = false;
        foreach (var m in methods)
            if (d.StartsWith(Encoding.ASCII.GetBytes(m))) { starts = true; break; }
        if (!starts) return null;
        var text = Encoding.ASCII.GetString(d[..Math.Min(d.Length, 4096)]);
        foreach (var line in text.Split("\r\n"))
        {
            if (line.Length == 0) break; // end of headers
            if (line.StartsWith("Host:", StringComparison.OrdinalIgnoreCase))
            {
                var host = line[5..].Trim();
                var colon = host.LastIndexOf(':');
                if (colon > 0 && !host.EndsWith(']')) host = host[..colon]; // drop the port
                return host.Length == 0 ? null : host.ToLowerInvariant();
            }
        }
        return null;
    }
}
