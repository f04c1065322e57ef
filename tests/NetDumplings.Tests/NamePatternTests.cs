using NetDumplings.Protocol;
using NetDumplings.Client;

namespace NetDumplings.Tests;

public class NamePatternTests
{
    [Theory]
    [InlineData("DNSLookupChef", "DNSLookupChef", true)]
    [InlineData("dnslookupchef", "DNSLookupChef", true)]
    [InlineData("DNS*", "DNSLookupChef", true)]
    [InlineData("*Chef", "DNSLookupChef", true)]
    [InlineData("*Look*", "DNSLookupChef", true)]
    [InlineData("D?S*", "DNSLookupChef", true)]
    [InlineData("ARP*", "DNSLookupChef", false)]
    [InlineData("DNS", "DNSLookupChef", false)]
    [InlineData("*", "", true)]
    [InlineData("a*b*c", "aXXbYYc", true)]
    [InlineData("a*b*c", "aXXbYY", false)]
    [InlineData("edge?", "edge12", false)]
    public void Matches_like_PowerShell_like(string pattern, string name, bool expected) =>
        Assert.Equal(expected, new NamePattern(pattern).IsMatch(name));

    [Fact]
    public void A_null_name_matches_no_pattern_but_an_empty_list_matches_everything()
    {
        Assert.False(new NamePattern("*").IsMatch(null));
        Assert.True(NamePattern.MatchesAny([], null));
        Assert.False(NamePattern.MatchesAny([new NamePattern("edge*")], null));
    }

    [Fact]
    public void Knows_literal_names_from_wildcards()
    {
        Assert.True(new NamePattern("ARPChef").IsLiteral);
        Assert.False(new NamePattern("ARP*").IsLiteral);
        Assert.False(new NamePattern("AR?Chef").IsLiteral);
    }
}
