/* The vocabulary of the ESP serial bootloader protocol (esp-serial-protocol.md): opcodes (§6)
 * and the status codes of replies (§3.5): the ROM answers status 1 followed by an error byte,
 * a flasher stub answers its status byte alone. Shared by the loader client and the virtual
 * chip, so both speak of the same codes. */
#ifndef MP_LOADER_PROTOCOL_H
#define MP_LOADER_PROTOCOL_H

#include <stdint.h>

enum loader_op {
    LOADER_FLASH_BEGIN = 0x02,
    LOADER_FLASH_DATA = 0x03,
    LOADER_FLASH_END = 0x04,
    LOADER_MEM_BEGIN = 0x05,
    LOADER_MEM_END = 0x06,
    LOADER_MEM_DATA = 0x07,
    LOADER_SYNC = 0x08,
    LOADER_WRITE_REG = 0x09,
    LOADER_READ_REG = 0x0A,
    LOADER_SPI_SET_PARAMS = 0x0B,
    LOADER_SPI_ATTACH = 0x0D,
    LOADER_READ_FLASH_SLOW = 0x0E,
    LOADER_CHANGE_BAUDRATE = 0x0F,
    LOADER_FLASH_DEFL_BEGIN = 0x10,
    LOADER_FLASH_DEFL_DATA = 0x11,
    LOADER_FLASH_DEFL_END = 0x12,
    LOADER_SPI_FLASH_MD5 = 0x13,
    LOADER_GET_SECURITY_INFO = 0x14,
    LOADER_ERASE_FLASH = 0xD0,
    LOADER_ERASE_REGION = 0xD1,
    LOADER_READ_FLASH = 0xD2,
    LOADER_RUN_USER_CODE = 0xD3,
};

#define LOADER_SYNC_VALUE 0x20120707u /* SYNC payload head and the ROM's SYNC reply value */

enum loader_rom_error {
    ROM_E_UNDEFINED = 0x00,
    ROM_E_BAD_PARAM = 0x01, /* input parameter invalid */
    ROM_E_MALLOC = 0x02,
    ROM_E_SEND = 0x03,
    ROM_E_RECEIVE = 0x04,
    ROM_E_BAD_MESSAGE = 0x05, /* received message invalid; also unknown opcode, bad length */
    ROM_E_EXEC = 0x06,        /* message ok, execution failed */
    ROM_E_CHECKSUM = 0x07,
    ROM_E_FLASH_WRITE = 0x08,
    ROM_E_FLASH_READ = 0x09,
    ROM_E_READ_LENGTH = 0x0A,
    ROM_E_INFLATE = 0x0B,
    ROM_E_ADLER = 0x0C,
    ROM_E_INFLATE_PARAM = 0x0D,
    ROM_E_RAM_SIZE = 0x0E,
    ROM_E_RAM_ADDRESS = 0x0F,
    ROM_E_INVALID_PARAM = 0x64,
    ROM_E_INVALID_FORMAT = 0x65,
    ROM_E_DESC_TOO_LONG = 0x66,
    ROM_E_BAD_ENCODING = 0x67,
    ROM_E_NO_STORAGE = 0x69,
};

enum loader_stub_status {
    STUB_E_BAD_DATA_LEN = 0xC0,
    STUB_E_BAD_CHECKSUM = 0xC1,
    STUB_E_BAD_BLOCKSIZE = 0xC2,
    STUB_E_INVALID_COMMAND = 0xC3,
    STUB_E_FAILED_SPI_OP = 0xC4,
    STUB_E_FAILED_SPI_UNLOCK = 0xC5,
    STUB_E_NOT_IN_FLASH_MODE = 0xC6,
    STUB_E_INFLATE = 0xC7,
    STUB_E_NOT_ENOUGH_DATA = 0xC8,
    STUB_E_TOO_MUCH_DATA = 0xC9,
    STUB_E_NAND_PROGRAM = 0xCA,
    STUB_E_NAND_ERASE = 0xCB,
    STUB_E_CMD_NOT_IMPLEMENTED = 0xFF,
};

const char *loader_op_name(uint8_t op);
/* What a status code means, for messages ("unknown ROM error" / "unknown stub error"). */
const char *loader_error_text(int stub, uint8_t code);
/* True for codes saying the loader received a damaged packet (bad length or checksum):
 * sending the same packet again is the cure. */
int loader_status_damaged(int stub, uint8_t code);

#endif
