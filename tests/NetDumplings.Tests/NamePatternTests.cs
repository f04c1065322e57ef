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

    [Fact]
    public void Wildcards_fold_case_exactly_as_literal_names_do()
    {
        // With letters whose folding differs between char.ToUpperInvariant and OrdinalIgnoreCase (ſ, ı, K) and a
        // cased script outside the BMP (Deseret), 'a*' takes b exactly when b starts with a to OrdinalIgnoreCase.
        string[] letters = ["a", "A", "s", "S", "\u017F", "i", "I", "\u0131", "k", "K", "\u212A", "\u00E9", "\u00C9", "\U00010400", "\U00010428"];
        var random = new Random(11);
        string Name(int most) => string.Concat(Enumerable.Range(0, random.Next(1, most)).Select(_ => letters[random.Next(letters.Length)]));
        for (var n = 0; n < 20_000; n++)
        {
            var (a, b) = (Name(3), Name(5));
            Assert.True(new NamePattern(a + "*").IsMatch(b) == b.StartsWith(a, StringComparison.OrdinalIgnoreCase), $"'{a}*' and '{b}'");
            Assert.True(new NamePattern("*" + a).IsMatch(b) == b.EndsWith(a, StringComparison.OrdinalIgnoreCase), $"'*{a}' and '{b}'");
        }
        Assert.False(new NamePattern("s*").IsMatch("\u017Fx"));
        Assert.True(new NamePattern("\U00010400*").IsMatch("\U00010428x"));
    }
}
