using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Rampart.Storage.TlsRpt;

namespace Rampart.Web.Tests;

/// <summary>The TLS-RPT receiver's answers to a body that never arrives whole (issue 13 item 7).</summary>
public sealed class TlsRptReceiverTests
{
    [Fact]
    public async Task HandleAsync_BodyTooSlow_408AndOneWarningLineNotAnUnhandledException()
    {
        var state = Directory.CreateTempSubdirectory("rampart-receiver-").FullName;
        try
        {
            await using var store = await SqliteTlsReportStore.OpenInDirectoryAsync(state, TimeProvider.System, TestContext.Current.CancellationToken);
            var log = new ListLogger();
            var receiver = new TlsRptReceiver(store, 4096, log);
            var context = new DefaultHttpContext();
            context.Request.Method = "POST";
            context.Request.ContentType = "application/tlsrpt+json";
            context.Request.Body = new StallingBody();
            context.Response.Body = new MemoryStream();

            await receiver.HandleAsync(context);

            Assert.Equal(StatusCodes.Status408RequestTimeout, context.Response.StatusCode);
            var (level, message) = Assert.Single(log.Entries);
            Assert.Equal(LogLevel.Warning, level);
            Assert.Contains("Reading the request body timed out due to data arriving too slowly", message, StringComparison.Ordinal);
            Assert.Contains("nothing stored", message, StringComparison.Ordinal);
            Assert.DoesNotContain('\n', message);
        }
        finally
        {
            Directory.Delete(state, recursive: true);
        }
    }

    /// <summary>A request body as Kestrel presents one whose client sends below the minimum data rate.</summary>
    private sealed class StallingBody : MemoryStream
    {
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            throw new BadHttpRequestException("Reading the request body timed out due to data arriving too slowly. See MinRequestBodyDataRate.", StatusCodes.Status408RequestTimeout);
    }

    private sealed class ListLogger : ILogger
    {
        public List<(LogLevel Level, string Message)> Entries { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Entries.Add((logLevel, formatter(state, exception)));
    }
}
