/* Names of opcodes and the status code tables of §3.5. */
#include "loader/protocol.h"

#include <stddef.h>

const char *loader_op_name(uint8_t op)
{
    switch (op) {
    case LOADER_FLASH_BEGIN: return "FLASH_BEGIN";
    case LOADER_FLASH_DATA: return "FLASH_DATA";
    case LOADER_FLASH_END: return "FLASH_END";
    case LOADER_MEM_BEGIN: return "MEM_BEGIN";
    case LOADER_MEM_END: return "MEM_END";
    case LOADER_MEM_DATA: return "MEM_DATA";
    case LOADER_SYNC: return "SYNC";
    case LOADER_WRITE_REG: return "WRITE_REG";
    case LOADER_READ_REG: return "READ_REG";
    case LOADER_SPI_SET_PARAMS: return "SPI_SET_PARAMS";
    case LOADER_SPI_ATTACH: return "SPI_ATTACH";
    case LOADER_READ_FLASH_SLOW: return "READ_FLASH_SLOW";
    case LOADER_CHANGE_BAUDRATE: return "CHANGE_BAUDRATE";
    case LOADER_FLASH_DEFL_BEGIN: return "FLASH_DEFL_BEGIN";
    case LOADER_FLASH_DEFL_DATA: return "FLASH_DEFL_DATA";
    case LOADER_FLASH_DEFL_END: return "FLASH_DEFL_END";
    case LOADER_SPI_FLASH_MD5: return "SPI_FLASH_MD5";
    case LOADER_GET_SECURITY_INFO: return "GET_SECURITY_INFO";
    case LOADER_ERASE_FLASH: return "ERASE_FLASH";
    case LOADER_ERASE_REGION: return "ERASE_REGION";
    case LOADER_READ_FLASH: return "READ_FLASH";
    case LOADER_RUN_USER_CODE: return "RUN_USER_CODE";
    }
    return "unknown command";
}

struct status_info {
    uint8_t code;
    int damaged; /* the packet arrived damaged: resend it */
    const char *text;
};

static const struct status_info rom_codes[] = {
    {ROM_E_UNDEFINED, 0, "undefined error"},
    {ROM_E_BAD_PARAM, 0, "input parameter invalid"},
    {ROM_E_MALLOC, 0, "malloc failed"},
    {ROM_E_SEND, 0, "send failed"},
    {ROM_E_RECEIVE, 0, "receive failed"},
    {ROM_E_BAD_MESSAGE, 1, "received message invalid"},
    {ROM_E_EXEC, 0, "execution failed"},
    {ROM_E_CHECKSUM, 1, "checksum error"},
    {ROM_E_FLASH_WRITE, 0, "flash write error"},
    {ROM_E_FLASH_READ, 0, "flash read error"},
    {ROM_E_READ_LENGTH, 0, "flash read length error"},
    {ROM_E_INFLATE, 0, "deflate failed"},
    {ROM_E_ADLER, 0, "deflate Adler-32 error"},
    {ROM_E_INFLATE_PARAM, 0, "deflate parameter error"},
    {ROM_E_RAM_SIZE, 0, "invalid RAM binary size"},
    {ROM_E_RAM_ADDRESS, 0, "invalid RAM binary address"},
    {ROM_E_INVALID_PARAM, 0, "invalid parameter"},
    {ROM_E_INVALID_FORMAT, 0, "invalid format"},
    {ROM_E_DESC_TOO_LONG, 0, "description too long"},
    {ROM_E_BAD_ENCODING, 0, "bad encoding description"},
    {ROM_E_NO_STORAGE, 0, "insufficient storage"},
};

static const struct status_info stub_codes[] = {
    {STUB_E_BAD_DATA_LEN, 1, "bad data length"},
    {STUB_E_BAD_CHECKSUM, 1, "bad data checksum"},
    {STUB_E_BAD_BLOCKSIZE, 0, "bad block size"},
    {STUB_E_INVALID_COMMAND, 0, "invalid command"},
    {STUB_E_FAILED_SPI_OP, 0, "SPI operation failed"},
    {STUB_E_FAILED_SPI_UNLOCK, 0, "SPI unlock failed"},
    {STUB_E_NOT_IN_FLASH_MODE, 0, "not in flash mode"},
    {STUB_E_INFLATE, 0, "inflate error"},
    {STUB_E_NOT_ENOUGH_DATA, 0, "not enough data"},
    {STUB_E_TOO_MUCH_DATA, 0, "too much data"},
    {STUB_E_NAND_PROGRAM, 0, "NAND program failed"},
    {STUB_E_NAND_ERASE, 0, "NAND erase failed"},
    {STUB_E_CMD_NOT_IMPLEMENTED, 0, "command not implemented"},
};

static const struct status_info *find(int stub, uint8_t code)
{
    const struct status_info *t = stub ? stub_codes : rom_codes;
    size_t n = stub ? sizeof stub_codes / sizeof stub_codes[0]
                    : sizeof rom_codes / sizeof rom_codes[0];
    for (size_t i = 0; i < n; i++)
        if (t[i].code == code)
            return &t[i];
    return NULL;
}

const char *loader_error_text(int stub, uint8_t code)
{
    const struct status_info *s = find(stub, code);
    return s ? s->text : stub ? "unknown stub error" : "unknown ROM error";
}

int loader_status_damaged(int stub, uint8_t code)
{
    const struct status_info *s = find(stub, code);
    return s && s->damaged;
}
