using NetDumplings.Packets;
using PacketDotNet;
using static NetDumplings.Tests.Packets.TestFrames;

namespace NetDumplings.Tests.Packets;

public class DnsMessageTests
{
    private static string? QueryName(byte[] message)
    {
        Span<byte> name = stackalloc byte[DnsMessage.MaxNameLength];
        return DnsMessage.TryReadQueryName(message, name, out var length) ? DnsMessage.NameText(name[..length]) : null;
    }

    // A query for "a.b" (labels at 12) whose second question is the name at 21: tests write pointers there.
    private static byte[] TwoQuestions(params byte[] secondName) =>
        [0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 1, (byte)'a', 1, (byte)'b', 0, 0, 1, 0, 1, .. secondName, 0, 1, 0, 1];

    [Fact]
    public void Follows_pointers_backwards_and_refuses_every_loop()
    {
        Assert.True(DnsMessage.TryParse(TwoQuestions(1, (byte)'c', 0xC0, 12), out var dns));
        Assert.Equal(["a.b", "c.a.b"], dns!.Questions.Select(q => q.Name));

        Assert.False(DnsMessage.IsWellFormed(TwoQuestions(0xC0, 21)));                 // to itself
        Assert.False(DnsMessage.IsWellFormed(TwoQuestions(0xC0, 23, 0xC0, 21)));       // forward, to a pointer that points back
        Assert.False(DnsMessage.IsWellFormed(TwoQuestions(1, (byte)'c', 0xC0, 21)));   // to the labels it ends
        Assert.False(DnsMessage.IsWellFormed(TwoQuestions(0xC0, 2)));                  // into the header
        Assert.False(DnsMessage.IsWellFormed(TwoQuestions(0xC0, 12)[..^5]));           // cut in half
        Assert.False(DnsMessage.IsWellFormed(TwoQuestions(0x40, 0)));                  // a deprecated label type

        // Pointer to pointer, each further back, is fine.
        byte[] chain = [0, 1, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 1, (byte)'a', 0, 0, 1, 0, 1, 0xC0, 12, 0, 1, 0, 1, 0xC0, 19, 0, 1, 0, 1];
        Assert.True(DnsMessage.TryParse(chain, out dns));
        Assert.Equal(["a", "a", "a"], dns!.Questions.Select(q => q.Name));
    }

    [Fact]
    public void Bounds_names_at_255_bytes_on_the_wire()
    {
        string Name(int length) => string.Join('.', Enumerable.Range(0, length / 50 + 1).Select(i => new string((char)('a' + i), 49)))[..length];
        var longest = Name(DnsMessage.MaxNameLength);
        Assert.False(longest.EndsWith('.'));
        Assert.Equal(longest, QueryName(Dns(false, longest)));
        var tooLong = Name(DnsMessage.MaxNameLength + 1);
        Assert.Null(QueryName(Dns(false, tooLong)));
    }

    [Fact]
    public void Reads_names_as_UTF8_with_control_characters_shown()
    {
        Assert.Equal("Küche TV._airplay._tcp.local", QueryName(Dns(false, "Küche TV._airplay._tcp.local")));
        Assert.Equal("a?b.test", QueryName(Dns(false, "a\u001Bb.test")));
        Assert.Equal("", QueryName(Dns(false, ".")));   // the root, as the original's hostname[:-1] has it
    }

    [Fact]
    public void Tells_queries_from_responses_and_empty_messages()
    {
        Assert.Equal("x.test", QueryName(Dns(false, "x.test")));
        Assert.Null(QueryName(Dns(true, "x.test")));
        Assert.Null(QueryName(Dns(false)));
        Assert.True(DnsMessage.IsWellFormed(Dns(false)));
        Assert.False(DnsMessage.IsWellFormed(new byte[11]));
    }

    [Theory]
    [InlineData(PacketHeaders.ProtocolUdp, 53, 40000, true)]
    [InlineData(PacketHeaders.ProtocolUdp, 40000, 53, true)]
    [InlineData(PacketHeaders.ProtocolUdp, 5353, 5353, true)]
    [InlineData(PacketHeaders.ProtocolUdp, 40000, 5353, true)]
    [InlineData(PacketHeaders.ProtocolTcp, 40000, 53, true)]
    [InlineData(PacketHeaders.ProtocolTcp, 40000, 5353, false)]
    [InlineData(PacketHeaders.ProtocolUdp, 5355, 5355, false)]
    [InlineData(PacketHeaders.ProtocolUdp, 40000, 443, false)]
    [InlineData(PacketHeaders.ProtocolIcmp, 53, 53, false)]
    public void Has_one_rule_for_which_ports_carry_DNS(int protocol, int sourcePort, int destinationPort, bool dns) =>
        Assert.Equal(dns, DnsMessage.IsDnsPort(protocol, sourcePort, destinationPort));

    [Fact]
    public void Finds_the_message_in_frames_and_in_PacketDotNet_layers_alike()
    {
        var query = Dns(false, "tcp.test");
        byte[] framed = [0, (byte)query.Length, .. query, 0xEE, 0xEE];   // what follows the length is not this message
        var tcp = Ethernet(TcpIp("10.0.0.1", "10.0.0.53", 40000, 53, framed));
        var headers = PacketHeaders.Read(tcp, LinkLayers.Ethernet);
        Assert.Equal(query, DnsMessage.FindMessage(tcp, headers).ToArray());
        Assert.Equal(query, DnsMessage.FindMessage(Packet.ParsePacket(LinkLayers.Ethernet, tcp).Extract<TransportPacket>()).ToArray());

        var notDns = Ethernet(TcpIp("10.0.0.1", "10.0.0.53", 40000, 5353, framed));
        Assert.True(DnsMessage.FindMessage(notDns, PacketHeaders.Read(notDns, LinkLayers.Ethernet)).IsEmpty);
        Assert.True(DnsMessage.FindMessage(null).IsEmpty);
    }
}
