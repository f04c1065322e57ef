using NetDumplings.Packets;
using NetDumplings.Traffic;
using PacketDotNet;

namespace NetDumplings.Tests.Decoding;

/// <summary>The header reader finds the same (inner) packet under every link type, VLAN stack and tunnel, and says which tunnel.</summary>
public class VariantHeadersTests
{
    public static TheoryData<string> VariantNames() => [.. DecodingCaptures.Variants.Select(v => v.Name)];

    [Theory]
    [MemberData(nameof(VariantNames))]
    public void Every_variant_decodes_to_the_packet_inside(string name)
    {
        var variant = DecodingCaptures.Variants.Single(v => v.Name == name);
        var carried = 0;
        Span<PacketLayer> layers = stackalloc PacketLayer[PacketHeaders.MaxLayers];
        foreach (var (frame, _) in DecodingCaptures.Scenario())
        {
            if (variant.Wrap(frame) is not { } wrapped) continue;
            carried++;
            var inner = PacketHeaders.Read(wrapped, variant.LinkType);
            var reference = PacketHeaders.Read(frame, LinkLayers.Ethernet);
            Assert.Equal(PacketDecodeStatus.Decoded, inner.Status);
            Assert.Equal(reference.NetworkLayer, inner.NetworkLayer);
            Assert.Equal(reference.SourceAddress(frame), inner.SourceAddress(wrapped));
            Assert.Equal(reference.DestinationAddress(frame), inner.DestinationAddress(wrapped));
            Assert.Equal(reference.TransportLayer, inner.TransportLayer);
            Assert.Equal(reference.SourcePort, inner.SourcePort);
            Assert.Equal(reference.DestinationPort, inner.DestinationPort);
            Assert.Equal(reference.Payload(frame).ToArray(), inner.Payload(wrapped).ToArray());
            Assert.Equal(variant.Tunnelled, inner.Tunnel != PacketTunnel.None);
            Assert.Equal(variant.Tunnelled ? 1 : 0, inner.TunnelDepth);
            // The layers end as the plain frame's do (its link layer aside).
            Assert.True(inner.TryCopyLayers(wrapped, layers, out var count) || inner.NetworkLayer == PacketLayer.Arp);
            Span<PacketLayer> plain = stackalloc PacketLayer[PacketHeaders.MaxLayers];
            if (reference.TryCopyLayers(frame, plain, out var plainCount))
                Assert.Equal(plain[1..plainCount].ToArray(), layers[(count - plainCount + 1)..count].ToArray());
        }
        Assert.True(carried >= (variant.LinkType == LinkLayers.IPv6 ? 8 : 20), $"{name} carried only {carried} frames");
    }

    [Fact]
    public void Tunnels_say_their_kind_id_and_outer_endpoints()
    {
        var frame = DecodingCaptures.Scenario()[3].Frame;   // the first DNS query
        (string Variant, PacketTunnel Tunnel, long? Id, string Outer)[] expected =
        [
            ("vxlan", PacketTunnel.Vxlan, 5001, "192.0.2.1"), ("geneve-over-ipv6", PacketTunnel.Geneve, 77, "2001:db8::1"),
            ("gre", PacketTunnel.Gre, null, "192.0.2.1"), ("gre-ethernet-key", PacketTunnel.Gre, 12345, "192.0.2.1"),
            ("erspan-ii", PacketTunnel.Erspan, 42, "192.0.2.1"), ("erspan-iii", PacketTunnel.Erspan, 7, "192.0.2.1"),
            ("ip-in-ip-and-6in4", PacketTunnel.IPInIP, null, "192.0.2.1"), ("ip-in-ipv6", PacketTunnel.IPInIP, null, "2001:db8::1"),
        ];
        foreach (var (name, tunnel, id, outer) in expected)
        {
            var wrapped = DecodingCaptures.Variants.Single(v => v.Name == name).Wrap(frame)!;
            var headers = PacketHeaders.Read(wrapped, LinkLayers.Ethernet);
            Assert.Equal(tunnel, headers.Tunnel);
            Assert.Equal(id, headers.TunnelId);
            Assert.Equal(outer, headers.OuterSourceAddress(wrapped)!.ToString());
            Assert.Equal("10.1.0.10", headers.SourceAddress(wrapped)!.ToString());
        }
        // Tunnels inside tunnels, up to the limit; one more is malformed.
        var nested = frame;
        var vxlan = DecodingCaptures.Variants.Single(v => v.Name == "vxlan");
        for (var depth = 1; depth <= PacketHeaders.MaxTunnels; depth++)
        {
            nested = vxlan.Wrap(nested)!;
            var headers = PacketHeaders.Read(nested, LinkLayers.Ethernet);
            Assert.Equal(depth, headers.TunnelDepth);
            Assert.Equal(53, headers.DestinationPort);
        }
        Assert.Equal(PacketDecodeStatus.Malformed, PacketHeaders.Read(vxlan.Wrap(nested)!, LinkLayers.Ethernet).Status);
    }

    [Fact]
    public void Malformed_frames_are_named_for_what_is_wrong()
    {
        // A PKTAP header cut before its link type (found by the fuzz test).
        Assert.Equal(PacketDecodeStatus.Truncated, PacketHeaders.Read([0x6c, 0, 0, 0, 1, 0, 0, 0, 1, 0], (LinkLayers)258).Status);
        foreach (var (name, frame, status) in DecodingCaptures.Malformed())
            Assert.True(status == PacketHeaders.Read(frame, LinkLayers.Ethernet).Status.ToString(), $"{name}: {PacketHeaders.Read(frame, LinkLayers.Ethernet).Status}, expected {status}");
    }
}
