using NetDumplings.Packets;
using NetDumplings.Traffic;

namespace NetDumplings.Tests.Packets;

/// <summary>JA3 against tshark's value for the same hello; JA4 against the worked example of its specification.</summary>
public class TlsClientHelloTests
{
    // A hello with exactly these extensions (SNI, ALPN, supported versions and signature algorithms filled in, the rest empty).
    private static byte[] Hello(ushort[] ciphers, ushort[] extensions, byte[][] alpn, ushort[] signatures, ushort[]? versions = null)
    {
        var body = new List<byte> { 3, 3 };
        body.AddRange(new byte[32]);
        body.Add(0);
        body.AddRange([(byte)(ciphers.Length * 2 >> 8), (byte)(ciphers.Length * 2), .. ciphers.SelectMany(c => new[] { (byte)(c >> 8), (byte)c })]);
        body.AddRange([1, 0]);
        var list = new List<byte>();
        foreach (var type in extensions)
        {
            byte[] data = type switch
            {
                0 => [0, 14, 0, 0, 11, .. "example.com"u8.ToArray()],
                16 => [(byte)(alpn.Sum(a => a.Length + 1) >> 8), (byte)alpn.Sum(a => a.Length + 1), .. alpn.SelectMany(a => new[] { (byte)a.Length }.Concat(a))],
                13 => [(byte)(signatures.Length * 2 >> 8), (byte)(signatures.Length * 2), .. signatures.SelectMany(s => new[] { (byte)(s >> 8), (byte)s })],
                43 => [(byte)((versions ?? [0x0304]).Length * 2), .. (versions ?? [0x0304]).SelectMany(v => new[] { (byte)(v >> 8), (byte)v })],
                _ => [],
            };
            list.AddRange([(byte)(type >> 8), (byte)type, (byte)(data.Length >> 8), (byte)data.Length, .. data]);
        }
        body.AddRange([(byte)(list.Count >> 8), (byte)list.Count, .. list]);
        byte[] handshake = [1, 0, (byte)(body.Count >> 8), (byte)body.Count, .. body];
        return [0x16, 3, 1, (byte)(handshake.Length >> 8), (byte)handshake.Length, .. handshake];
    }

    private static readonly ushort[] SpecCiphers = [0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035];
    private static readonly ushort[] SpecExtensions = [0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d, 0x000d, 0x0005, 0x0023, 0x0012, 0x002b, 0xff01, 0x000b, 0x000a, 0x0015];
    private static readonly ushort[] SpecSignatures = [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601];

    private static string Ja4(byte[] record)
    {
        Assert.True(TlsClientHello.TryRead(record, out var hello));
        return hello.Ja4;
    }

    [Fact]
    public void JA4_matches_the_example_of_its_specification()
    {
        Assert.Equal("t13d1516h2_8daaf6152771_e5627efa2ab1", Ja4(Hello(SpecCiphers, SpecExtensions, ["h2"u8.ToArray()], SpecSignatures)));
        // GREASE anywhere changes nothing; without signature algorithms the list ends without an underscore.
        ushort[] greased = [0x0a0a, .. SpecExtensions, 0xfafa];
        Assert.Equal("t13d1516h2_8daaf6152771_e5627efa2ab1", Ja4(Hello([0x2a2a, .. SpecCiphers], greased, ["h2"u8.ToArray()], SpecSignatures, [0x7a7a, 0x0304, 0x0303])));
        Assert.Equal("6d807ffa2a79", Ja4(Hello(SpecCiphers, SpecExtensions, ["h2"u8.ToArray()], []))[^12..]);
        // Nothing offered: the hello's own version, no SNI, no ALPN, and zeros for the hashes of nothing.
        Assert.Equal("t12i000000_000000000000_000000000000", Ja4(Hello([], [], [], [])));
    }

    [Theory]
    [InlineData(new byte[] { 0x68, 0x74, 0x74, 0x70, 0x2f, 0x31, 0x2e, 0x31 }, "h1")]
    [InlineData(new byte[] { 0xAB }, "ab")]
    [InlineData(new byte[] { 0xAB, 0xCD }, "ad")]
    [InlineData(new byte[] { 0x30, 0xAB }, "3b")]
    [InlineData(new byte[] { 0x30, 0x31, 0xAB, 0xCD }, "3d")]
    [InlineData(new byte[] { 0x30, 0xAB, 0xCD, 0x31 }, "01")]
    [InlineData(new byte[] { 0x71 }, "qq")]
    public void JA4_takes_the_first_ALPN_value_as_its_specification_says(byte[] alpn, string expected) =>
        Assert.Equal(expected, Ja4(Hello(SpecCiphers, [0x0010, 0x002b], [alpn, "h2"u8.ToArray()], []))[8..10]);

    [Fact]
    public void JA3_SNI_ALPN_and_versions_of_a_browser_like_hello()
    {
        Assert.True(TlsClientHello.TryRead(FrameBuilder.ClientHello(DecodingCaptures.ChromeLikeHello), out var hello));
        // tshark 4.0's tls.handshake.ja3 and ja3_full for the same bytes.
        Assert.Equal("771,4865-4866-4867-49195-49199-49196-49200-52393-52392-49171-49172-156-157-47-53,0-23-65281-10-11-35-16-5-13-43-45,29-23-24,0", hello.Ja3String);
        Assert.Equal("e719f30f4fa594ec3267b0512dcf98db", hello.Ja3);
        Assert.Equal("tls.example.com", hello.ServerName);
        Assert.Equal(["h2", "http/1.1"], hello.AlpnProtocols);
        Assert.Equal([(ushort)0x0304, (ushort)0x0303], hello.OfferedVersions);
        Assert.StartsWith("t13d1511h2_8daaf6152771_", hello.Ja4);
    }

    [Fact]
    public void A_cut_or_overrunning_hello_is_not_read()
    {
        var record = FrameBuilder.ClientHello(DecodingCaptures.ChromeLikeHello);
        for (var length = 0; length < record.Length; length++) Assert.False(TlsClientHello.TryRead(record.AsSpan(0, length), out _));
        var overrun = (byte[])record.Clone();
        overrun[^3] = 0xFF;   // the last extension's length runs past the end
        Assert.False(TlsClientHello.TryRead(overrun, out _));
    }
}
