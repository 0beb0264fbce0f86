using CsCheck;
using System.Buffers;
using Rampart.Postfix.Socketmap;

namespace Rampart.Postfix.Tests.Socketmap;

public sealed class SocketmapRequestTests
{
    public static TheoryData<int, string> RequestCases()
    {
        var data = new TheoryData<int, string>();
        foreach (var (line, cells) in Tsv.Rows("requests.tsv"))
        {
            data.Add(line, cells[0]);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(RequestCases))]
    public void TryParse_GoldenPayload_MatchesExpected(int line, string payload)
    {
        var cells = Tsv.Rows("requests.tsv").Single(r => r.Line == line).Cells;
        byte[] bytes = Tsv.Bytes(payload);

        foreach (var sequence in new[] { new ReadOnlySequence<byte>(bytes), SequenceBuilder.ByteByByte(bytes) })
        {
            bool ok = SocketmapRequest.TryParse(sequence, out var request, out var error);

            if (cells[1] == "ok")
            {
                Assert.True(ok, error);
                Assert.Equal(Tsv.Text(cells[2]), request!.MapName);
                Assert.Equal(Tsv.Text(cells[3]), request.Key);
            }
            else
            {
                Assert.False(ok);
                Assert.Null(request);
                Assert.False(string.IsNullOrWhiteSpace(error));
            }
        }
    }

    [Fact]
    public void TryParse_ArbitraryBytes_NeverThrows()
    {
        Gen.Byte.Array[0, 80].Sample(bytes =>
        {
            if (SocketmapRequest.TryParse(bytes, out var request, out _))
            {
                Assert.NotEmpty(request.MapName);
                Assert.NotEmpty(request.Key);
                Assert.DoesNotContain(' ', request.MapName);
                Assert.DoesNotContain(request.MapName + request.Key, char.IsControl);
            }
        }, iter: 20_000);
    }
}
