using System.Net;
using System.Text;
using NetDumplings.Packets;

namespace NetDumplings.Tests.Packets;

public class PacketTextTests
{
    /// <summary>The chefs' own address formatting writes every address exactly as IPAddress does (RFC 5952's "::" rules included).</summary>
    [Fact]
    public void Addresses_are_written_as_IPAddress_writes_them()
    {
        var random = new Random(11);
        var addresses = new List<byte[]>
        {
            new byte[4], new byte[] { 255, 255, 255, 255 }, new byte[] { 10, 0, 0, 1 }, new byte[] { 192, 168, 100, 9 }, new byte[16], IPAddress.IPv6Loopback.GetAddressBytes(),
            IPAddress.Parse("::ffff:10.1.2.3").GetAddressBytes(), IPAddress.Parse("::10.1.2.3").GetAddressBytes(),
            IPAddress.Parse("::ffff:0:10.1.2.3").GetAddressBytes(), IPAddress.Parse("fe80::5efe:10.1.2.3").GetAddressBytes(),
            IPAddress.Parse("2001:db8::").GetAddressBytes(), IPAddress.Parse("2001:db8:0:1:0:0:1:0").GetAddressBytes(),
            IPAddress.Parse("2001:0:0:1:0:0:0:1").GetAddressBytes(), IPAddress.Parse("1:0:1:0:1:0:1:0").GetAddressBytes(),
            IPAddress.Parse("0:0:0:1::").GetAddressBytes(), IPAddress.Parse("ff02::fb").GetAddressBytes(),
        };
        for (var i = 0; i < 20_000; i++)
        {
            var bytes = new byte[i % 3 == 0 ? 4 : 16];
            random.NextBytes(bytes);
            // Zero groups in random places, so every shape of "::" comes up.
            if (bytes.Length == 16)
                for (var group = 0; group < 8; group++)
                    if (random.Next(3) > 0) bytes[2 * group] = bytes[2 * group + 1] = 0;
            addresses.Add(bytes);
        }
        Span<byte> text = stackalloc byte[PacketText.MaxAddressLength];
        foreach (var address in addresses)
        {
            var expected = new IPAddress(address).ToString();
            Assert.Equal(expected, Encoding.ASCII.GetString(text[..PacketText.FormatAddress(address, text)]));
            Assert.Equal(expected, PacketText.Address(address));
        }
        Assert.Null(PacketText.Address(new byte[6]));
    }
}
