using NetDumplings.Protocol;
using NetDumplings.Hub;

namespace NetDumplings.Tests;

public class HubAddressTests
{
    [Theory]
    [InlineData("localhost:11348", "localhost", 11348)]
    [InlineData("127.0.0.1:5", "127.0.0.1", 5)]
    [InlineData("hubhost", "hubhost", 11347)]
    [InlineData("", "localhost", 11347)]
    [InlineData(null, "localhost", 11347)]
    [InlineData(":9000", "localhost", 9000)]
    [InlineData("[::1]:9000", "::1", 9000)]
    [InlineData("[::1]", "::1", 11347)]
    [InlineData("::1", "::1", 11347)]
    [InlineData("ws://127.0.0.1:9001", "127.0.0.1", 9001)]
    [InlineData("ws://[::1]:9001/any/path", "::1", 9001)]
    [InlineData("ws://example.net", "example.net", 11347)]
    public void ParsesTheFormsUsersType(string? text, string host, int port)
    {
        var a = HubAddress.Parse(text, HubAddress.DefaultInPort);
        Assert.Equal(host, a.Host);
        Assert.Equal(port, a.Port);
        Assert.Equal("ws", a.Uri.Scheme);
        Assert.Equal(port, a.Uri.Port);
    }

    [Theory]
    [InlineData("wss://hub.example:11348/?token=abc", "hub.example", 11348, "/?token=abc")]
    [InlineData("wss://127.0.0.1", "127.0.0.1", 11347, "/")]
    public void ParsesWssAsTlsAndKeepsThePathButNeverShowsIt(string text, string host, int port, string path)
    {
        var a = HubAddress.Parse(text, HubAddress.DefaultInPort);
        Assert.True(a.Tls);
        Assert.Equal((host, port, path), (a.Host, a.Port, a.Path));
        Assert.Equal("wss", a.Uri.Scheme);
        Assert.Equal($"wss://{host}:{port}", a.ToString());
        Assert.DoesNotContain("token", a.ToString());
    }

    [Theory]
    [InlineData("localhost:99999", "not a port")]
    [InlineData("localhost:0", "not a port")]
    [InlineData("localhost:http", "not a port")]
    [InlineData("[::1:80", "never closes")]
    [InlineData("http://localhost:80", "not a hub address")]
    public void SaysWhatIsWrong(string text, string expected)
    {
        Assert.False(HubAddress.TryParse(text, 1, out _, out var error));
        Assert.Contains(expected, error);
        Assert.Contains(expected, Assert.Throws<FormatException>(() => HubAddress.Parse(text, 1)).Message);
    }

    [Fact]
    public void BackoffGrowsToItsMaximum()
    {
        var b = new Backoff(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(1), 2, 0);
        Assert.Equal(100, b.Delay(0).TotalMilliseconds);
        Assert.Equal(400, b.Delay(2).TotalMilliseconds);
        Assert.Equal(1000, b.Delay(10).TotalMilliseconds);
        Assert.Equal(1000, b.Delay(1000).TotalMilliseconds);
    }
}
